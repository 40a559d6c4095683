/*
 * vmm/blk/blk.h - hako's block layer: asynchronous read, write and flush by
 * LBA on a block device named by a URL, shared by every disk backend
 * (`ram:SIZE`, `esp:PATH`, `iscsi://...`, `cow:...`) and every consumer
 * (virtio-blk, `disk check`, copy-on-write layers).
 *
 * The model (stable; the iSCSI initiator and virtio-blk rely on it):
 *  - blk_submit() may be called from any core (a vCPU's core emulating a
 *    virtio notify, or the service core). It checks the request and puts
 *    it on the device's lock-protected queue; it never does I/O itself.
 *  - The service core drains the queues (blk_poll(), a SERVICE_POLLER)
 *    and hands each request to its backend's start(). A backend finishes a
 *    request, at once or later, by calling blk_complete() on the service
 *    core. So every `done` callback runs on the service core, which is
 *    what single-threaded backends such as lwIP-based iSCSI need.
 *  - Opening is asynchronous as well: blk_open() starts it and returns;
 *    the caller's `done` runs later from blk_poll() (a LUN's login and
 *    READ CAPACITY take network round trips), so nothing waits for a disk
 *    by running the service loop from inside a wait. blk_sync_open()
 *    (vmm/blk/blk_sync.h) is the waiting form for boot and shell work.
 *  - blk_open() and blk_close() run on the service core.
 *
 * Before the first write, the disk opens without anyone waiting:
 * vm_start() (vmm/vm.c) builds the guest and calls vm_disks_open()
 * (vmm/virtio_attach.c), whose blk_open() here hands the URL to its
 * scheme: for a LUN lun_open() (net/iscsi/blk.c) starts a session with
 * iscsi_open_url() (net/iscsi/tcp.c, which resolves a host name with
 * lwIP's DNS client first) and returns BLK_OPEN_LATER. The service
 * core's pollers move it on: iscsi_blk_poll() runs lun_open_step()
 * (login, TEST UNIT READY, READ CAPACITY), which ends in blk_opened();
 * blk_poll() then reports it to disk_opened() (report_opens()), and
 * vm_start_poll() finds every disk open (vm_disks_ready()) and runs
 * vm_launch(): the virtio devices appear and the vCPUs start. The shell's
 * `start` meanwhile is pending (shell_pend()) and prints its result from
 * start_done() (mgmt/cmd_vm.c). A guest's reset starts it the same way.
 *
 * One guest disk write, hop by hop, and its completion:
 *   1. The guest's virtio-blk driver puts a request on its virtqueue and
 *      writes QueueNotify: an MMIO exit (vmm/exit.c) reaches
 *      virtio_mmio_write() (vmm/dev/virtio_mmio.c), which calls notify()
 *      in vmm/dev/virtio_blk.c on the vCPU's core.
 *   2. process() takes chains with vq_pop() (vmm/dev/virtqueue.c, every
 *      descriptor checked against guest memory), prepare() checks the
 *      header, start() calls blk_submit() here: the request is queued.
 *   3. On the service core blk_poll() hands it to the backend: for a LUN
 *      lun_start() (net/iscsi/blk.c), which lun_issue()s a SCSI WRITE as
 *      an iSCSI task with iscsi_submit() (net/iscsi/task.c).
 *   4. iscsi_tasks_pump() sends it: send_command() and, as the target's
 *      R2Ts allow, pump_data(); each PDU goes out by iscsi_tx_pdu() and
 *      iscsi_tx_flush() (net/iscsi/session.c) to the transport's t_send()
 *      (net/iscsi/tcp.c), which hands it to lwIP's tcp_write.
 *   5. lwIP's linkoutput() (net/netif.c) hands each segment to the switch,
 *      sw_input() (net/switch.c), whose uplink_send() (net/bridge.c) copies
 *      it into the NIC's ring (vnet_tx_buf(), drivers/net/virtio_net.c);
 *      one vnet_flush() doorbell per batch.
 * Completion: bridge_poll() takes the target's answer from the NIC
 * (vnet_rx_peek()), the switch gives it to hako_send() (net/netif.c); lwIP calls
 * on_recv() (net/iscsi/tcp.c), iscsi_feed() parses PDUs, the SCSI
 * Response finishes the task, task_done() (net/iscsi/blk.c) calls
 * blk_complete(), and request_done() (vmm/dev/virtio_blk.c) writes the
 * status, vq_push()es the chain and virtio_mmio_notify_used() raises the
 * device's interrupt line (vm_irq_set(), vmm/irq.c): the IOAPIC model
 * routes it to a vCPU's local APIC, which vcpu_events() injects.
 *
 * LBAs and counts are in the device's blocks (blk_block_size(): 512 for
 * `ram:` and `esp:`, whatever the LUN reports for iSCSI). Portable: no
 * hardware headers besides the spinlock of vmm/core/cpu.h.
 */
#ifndef HAKO_BLK_H
#define HAKO_BLK_H

#include <stdint.h>

#include "vmm/blk/blk_lat.h"
#include "vmm/core/cpu.h"

#define BLK_URL_MAX 256

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH };

struct blockdev;

struct blk_req {
	enum blk_op op;
	uint64_t lba;           /* first block (ignored for BLK_FLUSH) */
	uint32_t count;         /* blocks, > 0 for READ/WRITE; 0 for FLUSH */
	void *buf;              /* count * block size bytes of hako memory */
	/* Called once on the service core with 0 or -E...; may free r. */
	void (*done)(struct blk_req *r, int status);
	void *ctx;              /* the caller's */
	/* Where its time went (blk_lat.h), in the host's stamp ticks: a caller
	 * may set BLK_T_KICK before blk_submit (which sets it when 0 and
	 * clears the rest); the backend sets the middle three. */
	uint64_t stamp[BLK_STAMPS];
	/* private to the block layer and the backend */
	struct blk_req *next;
	struct blockdev *dev;
};

/* Per-device counters (`stats NAME`): completed requests and bytes. */
struct blk_stats {
	uint64_t reads, writes, flushes, errors;
	uint64_t bytes_read, bytes_written;
};

#define BLK_ERR_MAX 256

/*
 * An open under way (blk_open). The caller fills `done` and `ctx` and
 * owns the struct until `done` runs or blk_open_cancel() returns.
 */
struct blk_open_req {
	/* Called once, on the service core from blk_poll(), never from inside
	 * blk_open(); may free o, call blk_open() or blk_close(). */
	void (*done)(struct blk_open_req *o);
	void *ctx;                  /* the caller's */
	/* results, valid in done */
	int status;                 /* 0, or -E... */
	struct blockdev *dev;       /* the open device when status is 0 */
	char err[BLK_ERR_MAX];      /* one sentence when status < 0 */
	/* private to the block layer */
	struct blockdev *d;
	int readonly;
	int ended;                  /* the backend finished; waits in blk_poll's list */
	struct blk_open_req *next;
};

/*
 * Starts opening the device `url` names (scheme prefix + backend-specific
 * part); `readonly` makes every write fail with -EPERM. Returns 0: o->done
 * will report the result (unless blk_open_cancel() comes first); or -E...
 * at once (a bad URL, no memory) with a sentence in o->err, and done is not
 * called. Service core only.
 */
int blk_open(const char *url, int readonly, struct blk_open_req *o);
/*
 * Abandons an open whose done has not run: what the backend made so far
 * (a session logging in, a device already open) goes, and done is never
 * called. Service core only.
 */
void blk_open_cancel(struct blk_open_req *o);

/*
 * Queues `r` (op, lba, count, buf, done, ctx filled in) on `d`. From any
 * core. Returns 0 when queued: r->done will then be called exactly once,
 * on the service core. Returns -EINVAL (bad op, zero count, no buffer or
 * callback), -ERANGE (beyond the end of the device), -EPERM (write to a
 * read-only device) or -ENODEV (device closing) without queueing: r->done
 * is not called. Backend failures reach r->done as -EIO (or another -E).
 */
int blk_submit(struct blockdev *d, struct blk_req *r);

/*
 * Closes `d`: every request queued or in flight completes (with
 * -ECANCELED if it had not finished) before this returns, and no callback
 * runs afterwards. Service core only; no blk_submit() may race with it.
 */
void blk_close(struct blockdev *d);

/* Geometry and flags of an open device. */
uint64_t blk_blocks(const struct blockdev *d);
uint32_t blk_block_size(const struct blockdev *d);
int blk_readonly(const struct blockdev *d);
const struct blk_stats *blk_stats(const struct blockdev *d);
/* The latency breakdown of d's requests (blk_lat.h); service core. */
const struct blk_lat *blk_latency(const struct blockdev *d);
void blk_lat_reset(struct blockdev *d);
/* Now, in the host's stamp ticks (0 when the host has no clock). */
uint64_t blk_stamp(void);
/* The backend's reason for the last request that failed ("" when it gave none). */
const char *blk_error(const struct blockdev *d);

/*
 * Checks the syntax of a disk URL without opening it (guest definitions
 * call this at `define`). 0, or -EINVAL with one sentence in `err`.
 */
int blk_url_check(const char *url, char *err, unsigned errlen);

/*
 * Service core: reports finished opens to their callers and starts queued
 * requests. Registered as a SERVICE_POLLER. Nonzero while it did either
 * or requests are in flight.
 */
int blk_poll(void);

/* ---- for backends ---- */

struct blk_backend_ops {
	/* Starts r (already checked against the device); service core. */
	void (*start)(struct blockdev *d, struct blk_req *r);
	/*
	 * Finishes every request still in flight (blk_complete with
	 * -ECANCELED) and frees the backend's state. Service core.
	 */
	void (*close)(struct blockdev *d);
	/*
	 * 1 when the data lives on another machine (a LUN): a guest's such
	 * disk is closed when the guest stops (its session logged out) and
	 * opened again at the next start; 0 keeps it open (memory disks).
	 */
	int remote;
};

struct blockdev {
	const struct blk_backend_ops *ops;  /* set by the scheme's open */
	void *priv;                         /* the backend's */
	uint64_t blocks;                    /* set by the scheme's open */
	uint32_t block_size;                /* a power of two >= 512 */
	int readonly;
	char url[BLK_URL_MAX];
	/* the queue filled by blk_submit on any core, drained by blk_poll */
	struct spinlock lock;
	struct blk_req *head, *tail;
	int closing;
	uint32_t inflight;                  /* started and not completed */
	struct blk_stats stats;
	struct blk_lat lat;                 /* requests that succeeded, since open or blk_lat_reset */
	struct blockdev *next_open;         /* the service core's list */
	struct blk_open_req *opening;       /* while its scheme opens it */
	char error[128];                    /* the backend's reason for the last failure */
};

/*
 * A URL scheme, registered with BLK_SCHEME() into the `hako_blk_schemes`
 * section (linker.ld). `prefix` is matched at the start of the URL; the
 * functions receive what follows it.
 */
struct blk_scheme {
	const char *prefix;                 /* "ram:", "esp:", "iscsi://" */
	/* Syntax only, no I/O. 0 or -EINVAL with a sentence in err. */
	int (*check)(const char *spec, char *err, unsigned errlen);
	/*
	 * Fills d->ops, priv, blocks, block_size (and readonly when the
	 * medium itself is read-only). 0, or -E... with a sentence in err,
	 * when it finished at once; BLK_OPEN_LATER when it goes on (over the
	 * network): it then ends, on the service core, with blk_opened(d, 0)
	 * or blk_open_failed(d, -E..., ...) (whose sentence replaces err).
	 */
	int (*open)(const char *spec, struct blockdev *d, char *err, unsigned errlen);
	/*
	 * Only for schemes that return BLK_OPEN_LATER: abandons d's open
	 * before it ended (blk_open_cancel): frees what open made; no
	 * blk_opened() afterwards.
	 */
	void (*cancel)(struct blockdev *d);
};
#define BLK_OPEN_LATER 1
#define BLK_SCHEME(ident, ...)                                                   \
	static const struct blk_scheme blk_scheme_##ident                              \
		__attribute__((used, section("hako_blk_schemes"), aligned(8))) = { __VA_ARGS__ }

/* A backend finishes r with 0 or -E...; service core only. */
void blk_complete(struct blk_req *r, int status);

/*
 * A scheme whose open returned BLK_OPEN_LATER ends it: 0 with d's
 * geometry filled in, or -E... after freeing its own state, with one
 * sentence (printf-style) for the user. Service core only; the caller's
 * done runs at the next blk_poll().
 */
void blk_opened(struct blockdev *d, int status);
void blk_open_failed(struct blockdev *d, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * What the block layer needs from its host: zeroed memory, and the files
 * of the boot medium. The kernel installs its own at boot
 * (vmm/blk/blk_host.c); host unit tests install fakes.
 */
struct blk_host_ops {
	void *(*alloc)(uint64_t bytes);          /* zeroed, or 0 */
	void (*free)(void *p, uint64_t bytes);
	/* A file in the boot medium's \hako\ folder, or 0. */
	const void *(*file)(const char *name, uint64_t *size);
	/* Optional: a request was queued; wake the core that runs blk_poll. */
	void (*kick)(void);
	/* Optional: a cheap clock for the latency stamps (the kernel's TSC). */
	uint64_t (*stamp)(void);
};
void blk_set_host(const struct blk_host_ops *ops);
/* The kernel's: page allocator and boot medium (vmm/blk/blk_host.c). */
void blk_init(void);
const struct blk_host_ops *blk_host(void);

#endif
