/*
 * vmm/dev/virtio_net.h - the virtio network device (virtio 1.2, 5.1) on
 * the virtio-mmio transport: a guest's Ethernet NIC. One receive queue
 * (0) and one transmit queue (1), no control queue. Portable.
 *
 * The model has no idea where frames go: its host side (net/guest_port.c,
 * on the service core) takes what the guest sent with virtio_net_tx_next()
 * and virtio_net_tx_done(), hands it frames with virtio_net_rx(), and calls
 * virtio_net_flush() once per batch, which raises the guest's interrupt
 * for everything used since. A guest's QueueNotify on the transmit queue
 * (on its vCPU's core) only calls `kick`, which wakes the service core.
 * Frames are never copied inside the model: tx gives the host the pieces
 * of guest memory that hold the frame, rx copies the host's pieces straight
 * into the guest's receive buffers.
 */
#ifndef HAKO_VIRTIO_NET_H
#define HAKO_VIRTIO_NET_H

#include <stdint.h>

#include "vmm/core/lib/iov.h"
#include "vmm/dev/virtio_mmio.h"

#define VIRTIO_ID_NET 1

/* 5.1.3 Feature bits (the ones this device offers) */
#define VIRTIO_NET_F_CSUM 0             /* the driver may leave checksums partial */
#define VIRTIO_NET_F_GUEST_CSUM 1       /* the device may give it partial checksums */
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7       /* the device may give it TCP/IPv4 segment trains */
#define VIRTIO_NET_F_HOST_TSO4 11       /* the driver may send them */
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

/* 5.1.4 Device configuration layout */
struct virtio_net_config {
	uint8_t mac[6];                 /* 0x00 */
	uint16_t status;                /* 0x06 */
#define VIRTIO_NET_S_LINK_UP 1
	uint16_t max_virtqueue_pairs;   /* 0x08 (VIRTIO_NET_F_MQ not offered) */
	uint16_t mtu;                   /* 0x0a */
} __attribute__((packed));
CHECK_OFFSET(struct virtio_net_config, status, 0x06);
CHECK_OFFSET(struct virtio_net_config, mtu, 0x0a);

/* 5.1.6 Device Operation: the header before every frame (VERSION_1 form) */
struct virtio_net_hdr {
	uint8_t flags;                  /* 0x00 */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
	uint8_t gso_type;               /* 0x01 */
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
	uint16_t hdr_len;               /* 0x02 */
	uint16_t gso_size;              /* 0x04 */
	uint16_t csum_start;            /* 0x06 */
	uint16_t csum_offset;           /* 0x08 */
	uint16_t num_buffers;           /* 0x0a receive buffers this frame fills */
} __attribute__((packed));
CHECK_OFFSET(struct virtio_net_hdr, num_buffers, 0x0a);
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio-net header is 12 bytes");

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_QUEUE_MAX 256              /* QueueNumMax of both queues */
#define VNET_MTU 1500                   /* offered with VIRTIO_NET_F_MTU */
/* A transmit chain may be as long as a segment train (an IPv4 datagram of
 * 64 KiB behind an Ethernet header); longer is a malformed ring. Frames
 * above the MTU that are not trains are the switch's to drop. */
#define VNET_TX_LEN_MAX (sizeof(struct virtio_net_hdr) + 65535u + 14u)
#define VNET_SEG_MAX 64                 /* descriptors per chain */
#define VNET_RX_BUFS_MAX 128            /* merged receive buffers per frame */
#define VNET_IRQ_GAP_US 100             /* interrupts at least this far apart */

struct virtio_net_stats {
	uint64_t tx_frames, tx_bytes;   /* guest -> host */
	uint64_t rx_frames, rx_bytes;   /* host -> guest */
	uint64_t rx_no_buffer;          /* dropped: the guest had no room */
	uint64_t tx_bad;                /* dropped: an offload not negotiated, or too many pieces */
	uint64_t interrupts;
};

struct virtio_net {
	struct virtio_mmio t;           /* first: its lock guards everything */
	struct virtio_net_config config;
	void (*kick)(void *ctx);        /* the guest queued frames (any core) */
	void *kick_ctx;
	/* the frame between virtio_net_tx_next and virtio_net_tx_done */
	struct vq_chain txc;
	struct vq_seg txseg[VNET_SEG_MAX];
	uint32_t tx_generation;
	uint8_t tx_taken;
	uint8_t tx_quiet;               /* VIRTQ_USED_F_NO_NOTIFY is set on the transmit queue */
	uint8_t tx_kicked;              /* the guest notified since the host last looked */
	uint8_t rx_quiet;               /* ... and on the receive queue */
	/* used buffers since the last virtio_net_flush, per queue */
	uint8_t used_since_flush[2];
	uint8_t irq_due;                /* queues (bits) whose interrupt waits for the gap */
	uint64_t last_irq_us;
	/* a frame's receive buffers: the first chain's segments, then the rest */
	struct vq_chain rx0, rxc;
	struct vq_seg rxseg[VNET_SEG_MAX];
	struct vq_seg rx0seg[VNET_SEG_MAX];
	uint16_t rx_head[VNET_RX_BUFS_MAX];
	uint32_t rx_len[VNET_RX_BUFS_MAX];
	struct virtio_net_stats stats;
};

/*
 * Sets d up in the reset state with `mac` in its configuration space and
 * the link up or down. `name` prefixes log lines ("guest web1: eth0").
 */
void virtio_net_init(struct virtio_net *d, const uint8_t mac[6], int link_up,
		     const struct virtio_host *host, void (*kick)(void *ctx), void *kick_ctx,
		     const char *name);
/* Changes the link status the guest reads (configuration-change interrupt). */
void virtio_net_set_link(struct virtio_net *d, int up);

/* ---- the host side: service core ---- */

/* What the driver negotiated for frames the device gives it (VNET_OFF_*). */
#define VNET_OFF_CSUM 1                 /* partial checksums: GUEST_CSUM */
#define VNET_OFF_TSO4 2                 /* TCP/IPv4 segment trains: GUEST_TSO4 */
unsigned virtio_net_offloads(struct virtio_net *d);

/*
 * Takes the next frame the guest queued for sending. While the guest is
 * asked to notify, the ring is looked at only after it did (so an idle
 * port costs nothing); while it is not, every call looks. Returns 1 with the
 * frame (without its virtio-net header) as pieces of guest memory in
 * v[0..*niov), its length in *len and its header in *h (flags, gso_type,
 * gso_size, csum_start and csum_offset only as negotiated: a frame asking
 * for an offload the driver did not negotiate is dropped, counted in
 * tx_bad); 0 when there is none, the device is
 * not running, or the ring was malformed (the device then needs a reset).
 * The pieces stay valid until virtio_net_tx_done(), which must follow
 * before the next call. A frame whose pieces do not fit in `max` entries
 * is returned to the guest unsent (counted in tx_bad), and the next one is
 * looked at.
 */
int virtio_net_tx_next(struct virtio_net *d, struct iov *v, unsigned max, unsigned *niov,
		       uint32_t *len, struct virtio_net_hdr *h);
/* Gives the frame of the last virtio_net_tx_next back to the guest: sent. */
void virtio_net_tx_done(struct virtio_net *d);
/*
 * Copies a frame (v[0..n), `len` bytes) into the guest's receive buffers,
 * behind a virtio-net header: h's flags, gso_type, hdr_len, gso_size,
 * csum_start and csum_offset (only those virtio_net_offloads() allows), or
 * all zero when h is 0. 0; -ENOBUFS when the guest has not posted
 * room enough (the frame is dropped, the buffers stay posted); -ENODEV
 * when the device is not running or the ring was malformed.
 */
int virtio_net_rx(struct virtio_net *d, const struct iov *v, unsigned n, uint32_t len,
		  const struct virtio_net_hdr *h);
/*
 * Ends a batch: raises the used-buffer interrupt if buffers were used
 * since the last call and the driver has not asked to go without, but
 * never sooner than VNET_IRQ_GAP_US after the last one (`now_us` is the
 * host's clock). Returns 1 when an interrupt waits for the gap: call again.
 */
int virtio_net_flush(struct virtio_net *d, uint64_t now_us);

#endif
