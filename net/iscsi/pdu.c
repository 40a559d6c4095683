/*
 * net/iscsi/pdu.c - BHS field helpers, the receive assembler with digest
 * checks (RFC 7143 11.2 and 13.1) and the PDU writer. Portable.
 */
#include "net/iscsi/pdu.h"

#include "net/iscsi/crc32c.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

#define BHS_LEN 48

/* DataSegmentLength: 24 bits, big-endian (11.2.1.4). */
uint32_t iscsi_bhs_data_len(const struct iscsi_bhs *h)
{
	return (uint32_t)h->data_len[0] << 16 | (uint32_t)h->data_len[1] << 8 | h->data_len[2];
}

void iscsi_bhs_set_data_len(struct iscsi_bhs *h, uint32_t len)
{
	h->data_len[0] = (uint8_t)(len >> 16);
	h->data_len[1] = (uint8_t)(len >> 8);
	h->data_len[2] = (uint8_t)len;
}

/*
 * LUNs in the SAM-2 single-level format tgt and most targets use
 * (RFC 7143 11.2.1.5; SAM 4.6): peripheral addressing for LUN < 256,
 * flat space addressing (method 01b) up to 16383.
 */
uint64_t iscsi_lun_decode(const uint8_t lun[8])
{
	return (uint64_t)(lun[0] & 0x3f) << 8 | lun[1];
}

void iscsi_lun_encode(uint8_t lun[8], uint64_t id)
{
	memset(lun, 0, 8);
	lun[0] = (uint8_t)(id < 256 ? 0 : 0x40 | ((id >> 8) & 0x3f));
	lun[1] = (uint8_t)id;
}

/* Starts a fresh stream: nothing collected, digests off (login phase). */
void iscsi_rx_reset(struct iscsi_rx *rx, uint32_t max_data)
{
	rx->have = rx->need_hdr = rx->need_total = rx->data_len = 0;
	rx->hdr_digest = rx->data_digest = 0;
	rx->max_data = max_data > ISCSI_RX_DATA_MAX ? ISCSI_RX_DATA_MAX : max_data;
}

/* Prepares for the next PDU after one was handed out. */
void iscsi_rx_next(struct iscsi_rx *rx)
{
	rx->have = rx->need_hdr = rx->need_total = rx->data_len = 0;
}

/* Sizes of the whole PDU, learnt from the BHS (11.2). */
static int rx_sizes(struct iscsi_rx *rx, const char **why)
{
	const struct iscsi_bhs *h = (const void *)rx->hdr;
	rx->data_len = iscsi_bhs_data_len(h);
	if (rx->data_len > rx->max_data) {
		*why = "data segment longer than our MaxRecvDataSegmentLength";
		return -E2BIG;
	}
	rx->need_hdr = BHS_LEN + h->ahs_len * 4u + (rx->hdr_digest ? 4 : 0);
	rx->need_total = rx->need_hdr;
	if (rx->data_len)
		rx->need_total += rx->data_len + iscsi_pad4(rx->data_len) + (rx->data_digest ? 4 : 0);
	return 0;
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Digests are sent in the byte order of the CRC register (little-endian
 * on the wire for the RFC 3720 B.4 convention, as Linux and tgt do).
 */
static int rx_check_digests(struct iscsi_rx *rx, const char **why)
{
	uint32_t hlen = rx->need_hdr - (rx->hdr_digest ? 4 : 0);
	if (rx->hdr_digest && crc32c(rx->hdr, hlen) != load_le32(rx->hdr + hlen)) {
		*why = "header digest mismatch";
		return -EIO;
	}
	uint32_t dlen = rx->data_len + iscsi_pad4(rx->data_len);
	if (rx->data_len && rx->data_digest && crc32c(rx->data, dlen) != load_le32(rx->data + dlen)) {
		*why = "data digest mismatch";
		return -EIO;
	}
	return 0;
}

/* Copies up to `want` bytes of the current part into place. */
static size_t rx_take(struct iscsi_rx *rx, const uint8_t *p, size_t n)
{
	size_t want, at;
	uint8_t *dst;
	if (rx->have < BHS_LEN || rx->have < rx->need_hdr) {
		uint32_t end = rx->have < BHS_LEN ? BHS_LEN : rx->need_hdr;
		want = end - rx->have, dst = rx->hdr, at = rx->have;
	} else {
		want = rx->need_total - rx->have, dst = rx->data, at = rx->have - rx->need_hdr;
	}
	if (want > n)
		want = n;
	memcpy(dst + at, p, want);
	rx->have += (uint32_t)want;
	return want;
}

/* See pdu.h: 1 with a whole PDU, 0 for more bytes, -E with why. */
int iscsi_rx_feed(struct iscsi_rx *rx, const uint8_t *p, size_t n, size_t *used,
		  const char **why)
{
	*used = 0;
	while (*used < n || (rx->need_total && rx->have == rx->need_total)) {
		if (rx->need_total && rx->have == rx->need_total)
			return rx_check_digests(rx, why) ?: 1;
		*used += rx_take(rx, p + *used, n - *used);
		if (rx->have == BHS_LEN && !rx->need_total) {
			int err = rx_sizes(rx, why);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Which opcodes may carry a data segment (chapter 11). */
static int op_allows_data(uint8_t op)
{
	return op != ISCSI_OP_R2T && op != ISCSI_OP_LOGOUT_RSP;
}

/* Opcode-level rules of chapter 11 for target PDUs; 0 or -EINVAL with why. */
int iscsi_bhs_check(const struct iscsi_bhs *h, uint32_t data_len, const char **why)
{
	uint8_t op = h->opcode & ISCSI_OPCODE_MASK;
	switch (op) {
	case ISCSI_OP_NOP_IN: case ISCSI_OP_SCSI_RSP: case ISCSI_OP_LOGIN_RSP:
	case ISCSI_OP_TEXT_RSP: case ISCSI_OP_DATA_IN: case ISCSI_OP_LOGOUT_RSP:
	case ISCSI_OP_R2T: case ISCSI_OP_ASYNC: case ISCSI_OP_REJECT:
		break;
	default:
		*why = "unknown or initiator-only opcode";
		return -EINVAL;
	}
	if (h->opcode & ISCSI_OP_IMMEDIATE) {
		*why = "I bit set in a target PDU";
		return -EINVAL;
	}
	if (data_len && !op_allows_data(op)) {
		*why = "data segment on a PDU that has none";
		return -EINVAL;
	}
	return 0;
}

/* Bytes of a PDU with `len` data bytes and the given digests (13.1). */
size_t iscsi_pdu_size(uint32_t len, int hdr_digest, int data_digest)
{
	size_t n = BHS_LEN + (hdr_digest ? 4 : 0);
	if (len)
		n += len + iscsi_pad4(len) + (data_digest ? 4 : 0);
	return n;
}

static void store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Header, header digest, data, padding, data digest; the bytes written. */
size_t iscsi_pdu_write(uint8_t *out, const void *bhs, const void *data, uint32_t len,
		       int hdr_digest, int data_digest)
{
	size_t at = BHS_LEN;
	memcpy(out, bhs, BHS_LEN);
	iscsi_bhs_set_data_len((struct iscsi_bhs *)out, len);
	if (hdr_digest)
		store_le32(out + at, crc32c(out, BHS_LEN)), at += 4;
	if (!len)
		return at;
	uint32_t pad = iscsi_pad4(len);
	memcpy(out + at, data, len);
	memset(out + at + len, 0, pad);
	if (data_digest)
		store_le32(out + at + len + pad, crc32c(out + at, len + pad));
	return at + len + pad + (data_digest ? 4 : 0);
}
