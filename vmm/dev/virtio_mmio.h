/*
 * vmm/dev/virtio_mmio.h - the virtio-mmio transport, version 2 (virtio 1.2,
 * 4.2 "Virtio Over MMIO"): the register block a guest driver programs to
 * negotiate features, set up virtqueues, notify the device and acknowledge
 * interrupts. A device type (virtio_blk.c) plugs in through
 * `struct virtio_dev_ops`. Portable: guest memory, the interrupt line and
 * the log name come from the caller, so host unit tests drive it too.
 */
#ifndef HAKO_VIRTIO_MMIO_H
#define HAKO_VIRTIO_MMIO_H

#include <stdint.h>

#include "vmm/core/cpu.h"
#include "vmm/core/lib/log.h"
#include "vmm/dev/virtqueue.h"

/* 4.2.2 MMIO Device Register Layout (offsets from the device's base) */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000          /* "virt" */
#define  VIRTIO_MMIO_MAGIC 0x74726976
#define VIRTIO_MMIO_VERSION 0x004              /* 2: virtio 1.x */
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define  VIRTIO_MMIO_INT_VRING 0x1             /* used buffer notification */
#define  VIRTIO_MMIO_INT_CONFIG 0x2            /* configuration change */
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100               /* device-specific configuration */

/* 2.1 Device Status Field */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* 6 Reserved Feature Bits */
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_MMIO_VENDOR 0x6f6b6168          /* "hako" */
#define VIRTIO_MMIO_MAX_QUEUES 2

struct virtio_mmio;

/*
 * The most chains a device takes from a queue in one go: per QueueNotify,
 * per completion and per service-core round. A guest that refills its
 * queue as fast as the device empties it (requests that complete at once,
 * such as GET_ID) would otherwise hold the core, and the transport's lock,
 * for as long as it likes (issue 17, finding 5). The rest waits for the
 * next round of the service core (virtio_mmio_poll).
 */
#define VIRTIO_POLL_BUDGET 32

/* What a device type provides. Callbacks run with the transport's lock held. */
struct virtio_dev_ops {
	uint32_t device_id;             /* 5 Device Types: 2 = block */
	unsigned num_queues;            /* at most VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_max;             /* QueueNumMax */
	/*
	 * The driver wrote QueueNotify for a ready queue of a live device, or
	 * the service core resumes a queue with work left. Takes at most
	 * VIRTIO_POLL_BUDGET chains; nonzero when it stopped at the budget
	 * (chains may be left), 0 when the queue is empty or the device waits
	 * for its own completions.
	 */
	int (*notify)(struct virtio_mmio *t, unsigned queue);
	/* Device reset: forget every request in flight (see generation). */
	void (*reset)(struct virtio_mmio *t);
};

/* What the host provides. */
struct virtio_host {
	struct vq_mem mem;              /* the guest's memory */
	void (*irq)(void *ctx, int level);      /* the device's level-triggered line */
	void *irq_ctx;
	/* Optional: a queue has work left; have virtio_mmio_poll() called soon (any core). */
	void (*kick)(void *ctx);
	/*
	 * Optional, a pair around each hold of t->lock (virtio_mmio_lock):
	 * wake-ups of other cores that the locked code asks for (the guest's
	 * interrupt, the service core for new requests) wait for
	 * release_wakes, after the unlock. Under an emulator such a wake-up
	 * is slow (the IPI's APIC accesses take its global lock), and the
	 * other side, woken, comes straight for t->lock.
	 */
	void (*hold_wakes)(void);
	void (*release_wakes)(void);
};

struct virtio_mmio {
	struct spinlock lock;           /* every field below */
	const struct virtio_dev_ops *ops;
	void *dev;                      /* the device type's state */
	uint64_t features;              /* the device type's bits; VERSION_1 is added */
	const uint8_t *config;          /* device configuration space */
	unsigned config_len;
	struct virtio_host host;
	char name[48];                  /* "guest NAME vda", for log lines */
	uint32_t status, isr;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t driver_features;
	/*
	 * Bumped by reset and by DEVICE_NEEDS_RESET: a request that started
	 * under an older generation completes without touching the guest.
	 */
	uint32_t generation;
	uint32_t config_generation;     /* ConfigGeneration: bumped by each change */
	struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];
	uint8_t vq_ready[VIRTIO_MMIO_MAX_QUEUES];
	uint32_t backlog;               /* bit q: queue q stopped at the budget */
	struct log_ratelimit rl;
};

/* Sets up t in the reset state. */
void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		      uint64_t features, const uint8_t *config, unsigned config_len,
		      const struct virtio_host *host, const char *name);

/* t->lock, with the host's wake-ups held until the unlock. */
static inline void virtio_mmio_lock(struct virtio_mmio *t)
{
	if (t->host.hold_wakes)
		t->host.hold_wakes();
	spin_lock(&t->lock);
}

static inline void virtio_mmio_unlock(struct virtio_mmio *t)
{
	spin_unlock(&t->lock);
	if (t->host.release_wakes)
		t->host.release_wakes();
}

/* The register block (the signatures of struct mmio_ops in vmm/mmio.h). */
uint64_t virtio_mmio_read(void *t, uint64_t offset, unsigned size);
void virtio_mmio_write(void *t, uint64_t offset, unsigned size, uint64_t value);

/*
 * Service core, every round: lets each queue with work left take its next
 * VIRTIO_POLL_BUDGET chains. Nonzero while work is left. Takes t->lock.
 */
int virtio_mmio_poll(struct virtio_mmio *t);

/* ---- for device types, with t->lock held ---- */

/* Queue `queue` stopped at the budget outside a notify (a completion): resume it later. */
void virtio_mmio_backlog(struct virtio_mmio *t, unsigned queue);

/* DRIVER_OK is set and DEVICE_NEEDS_RESET is not: the device may work. */
int virtio_mmio_live(const struct virtio_mmio *t);
/* Raises the used-buffer interrupt. */
void virtio_mmio_notify_used(struct virtio_mmio *t);
/*
 * The device changed its configuration space (virtio-net's link status):
 * bumps ConfigGeneration and raises the configuration-change interrupt
 * for a running driver (4.2.2, 2.5.1).
 */
void virtio_mmio_config_changed(struct virtio_mmio *t);
/*
 * The driver broke the protocol (a malformed ring): sets
 * DEVICE_NEEDS_RESET, raises the configuration-change interrupt (2.1.2),
 * stops the device until reset, and logs `why` (rate-limited).
 */
void virtio_mmio_fail(struct virtio_mmio *t, const char *why);

#endif
