/*
 * net/iscsi/pdu.h - iSCSI PDUs: the 48-byte basic header segment (BHS) and
 * the byte-stream assembler that cuts a TCP stream into whole PDUs and
 * checks their digests. RFC 7143 chapter 11 (PDU formats) and 13.1
 * (digests). Portable: no hardware or lwIP headers.
 */
#ifndef HAKO_ISCSI_PDU_H
#define HAKO_ISCSI_PDU_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/core/lib/x86.h"


/* Opcodes, RFC 7143 11.1.1. Initiator to target: */
#define ISCSI_OP_NOP_OUT 0x00
#define ISCSI_OP_SCSI_CMD 0x01
#define ISCSI_OP_LOGIN_REQ 0x03
#define ISCSI_OP_TEXT_REQ 0x04
#define ISCSI_OP_DATA_OUT 0x05
#define ISCSI_OP_LOGOUT_REQ 0x06
/* Target to initiator: */
#define ISCSI_OP_NOP_IN 0x20
#define ISCSI_OP_SCSI_RSP 0x21
#define ISCSI_OP_LOGIN_RSP 0x23
#define ISCSI_OP_TEXT_RSP 0x24
#define ISCSI_OP_DATA_IN 0x25
#define ISCSI_OP_LOGOUT_RSP 0x26
#define ISCSI_OP_R2T 0x31
#define ISCSI_OP_ASYNC 0x32
#define ISCSI_OP_REJECT 0x3f
#define ISCSI_OPCODE_MASK 0x3f
#define ISCSI_OP_IMMEDIATE 0x40 /* I bit in byte 0 */

/* Byte 1 flags. */
#define ISCSI_FLAG_FINAL 0x80 /* F: last PDU of a sequence */
#define ISCSI_FLAG_CONT 0x40 /* C: text continues (login, text) */
#define ISCSI_CMD_READ 0x40 /* R, SCSI command 11.3.1 */
#define ISCSI_CMD_WRITE 0x20 /* W */
#define ISCSI_CMD_ATTR_SIMPLE 0x01
#define ISCSI_LOGIN_TRANSIT 0x80 /* T, 11.12.2 */
#define  ISCSI_LOGIN_CSG(f) (((f) >> 2) & 3)
#define  ISCSI_LOGIN_NSG(f) ((f) & 3)
#define ISCSI_STAGE_SECURITY 0
#define ISCSI_STAGE_OPERATIONAL 1
#define ISCSI_STAGE_FULL 3
#define ISCSI_DATAIN_ACK 0x40 /* A, 11.7.2 */
#define ISCSI_RSP_BIDI_OVER 0x10 /* o, 11.4.1 */
#define ISCSI_RSP_BIDI_UNDER 0x08 /* u */
#define ISCSI_RSP_OVERFLOW 0x04 /* O */
#define ISCSI_RSP_UNDERFLOW 0x02 /* U */
#define ISCSI_DATAIN_STATUS 0x01 /* S, 11.7.4 */

#define ISCSI_RSVD_TAG 0xffffffffu

/*
 * The BHS as the initiator reads it (RFC 7143 11.2.1). Words 0x14..0x2f
 * carry different fields per opcode; the names are those of the responses
 * (the commonest case) and the comments list the others.
 */
struct iscsi_bhs {
	uint8_t opcode; /* 0x00, I bit 0x40 */
	uint8_t flags; /* 0x01 */
	uint8_t spec[2]; /* 0x02 response+status, versions, reject reason */
	uint8_t ahs_len; /* 0x04, TotalAHSLength in 4-byte words */
	uint8_t data_len[3]; /* 0x05, DataSegmentLength, big-endian */
	uint8_t lun[8]; /* 0x08 LUN; login: ISID (6) and TSIH (2) */
	uint32_t itt; /* 0x10 Initiator Task Tag */
	uint32_t ttt; /* 0x14 TTT; SCSI cmd: EDTL; login/logout: CID */
	uint32_t statsn; /* 0x18 StatSN; requests: CmdSN */
	uint32_t exp_cmdsn; /* 0x1c ExpCmdSN; requests: ExpStatSN */
	uint32_t max_cmdsn; /* 0x20 MaxCmdSN; SCSI cmd: CDB starts here */
	uint32_t data_sn; /* 0x24 DataSN, R2TSN, ExpDataSN; login: status */
	uint32_t offset; /* 0x28 Buffer Offset */
	uint32_t count; /* 0x2c Residual Count; R2T: Desired Data Transfer Length */
} __attribute__((packed));
CHECK_OFFSET(struct iscsi_bhs, data_len, 0x05);
CHECK_OFFSET(struct iscsi_bhs, itt, 0x10);
CHECK_OFFSET(struct iscsi_bhs, statsn, 0x18);
CHECK_OFFSET(struct iscsi_bhs, data_sn, 0x24);
CHECK_OFFSET(struct iscsi_bhs, count, 0x2c);
_Static_assert(sizeof(struct iscsi_bhs) == 48, "BHS is 48 bytes");

/* SCSI Command, RFC 7143 11.3. */
struct iscsi_scsi_cmd {
	uint8_t opcode; /* 0x00 */
	uint8_t flags; /* 0x01 F R W ATTR */
	uint8_t rsvd[2]; /* 0x02 */
	uint8_t ahs_len; /* 0x04 */
	uint8_t data_len[3]; /* 0x05 */
	uint8_t lun[8]; /* 0x08 */
	uint32_t itt; /* 0x10 */
	uint32_t edtl; /* 0x14 Expected Data Transfer Length */
	uint32_t cmdsn; /* 0x18 */
	uint32_t exp_statsn; /* 0x1c */
	uint8_t cdb[16]; /* 0x20 */
} __attribute__((packed));
CHECK_OFFSET(struct iscsi_scsi_cmd, edtl, 0x14);
CHECK_OFFSET(struct iscsi_scsi_cmd, cdb, 0x20);
_Static_assert(sizeof(struct iscsi_scsi_cmd) == 48, "SCSI command BHS");

/* Login Request and Response, RFC 7143 11.12 and 11.13. */
struct iscsi_login {
	uint8_t opcode; /* 0x00 */
	uint8_t flags; /* 0x01 T C CSG NSG */
	uint8_t version_max; /* 0x02 */
	uint8_t version_min; /* 0x03; response: Version-active */
	uint8_t ahs_len; /* 0x04 */
	uint8_t data_len[3]; /* 0x05 */
	uint8_t isid[6]; /* 0x08 */
	uint16_t tsih; /* 0x0e */
	uint32_t itt; /* 0x10 */
	uint16_t cid; /* 0x14 */
	uint16_t rsvd1; /* 0x16 */
	uint32_t sn; /* 0x18 CmdSN; response: StatSN */
	uint32_t exp_sn; /* 0x1c ExpStatSN; response: ExpCmdSN */
	uint32_t max_cmdsn; /* 0x20 response only */
	uint8_t status_class; /* 0x24 response only */
	uint8_t status_detail; /* 0x25 */
	uint8_t rsvd2[10]; /* 0x26 */
} __attribute__((packed));
CHECK_OFFSET(struct iscsi_login, isid, 0x08);
CHECK_OFFSET(struct iscsi_login, tsih, 0x0e);
CHECK_OFFSET(struct iscsi_login, cid, 0x14);
CHECK_OFFSET(struct iscsi_login, status_class, 0x24);
_Static_assert(sizeof(struct iscsi_login) == 48, "login BHS");

/* Big-endian fields. */
static inline uint32_t iscsi_be32(uint32_t v)
{
	return __builtin_bswap32(v);
}
static inline uint16_t iscsi_be16(uint16_t v)
{
	return __builtin_bswap16(v);
}
uint32_t iscsi_bhs_data_len(const struct iscsi_bhs *h);
void iscsi_bhs_set_data_len(struct iscsi_bhs *h, uint32_t len);
uint64_t iscsi_lun_decode(const uint8_t lun[8]);
void iscsi_lun_encode(uint8_t lun[8], uint64_t lun_id);

/* RFC 1982 serial number arithmetic for CmdSN/StatSN (RFC 7143 4.2.2.1). */
static inline int iscsi_sn_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Padding of a data segment to a 4-byte boundary (11.2.1). */
static inline uint32_t iscsi_pad4(uint32_t n)
{
	return (4 - (n & 3)) & 3;
}

/*
 * The receive assembler. Bytes go in as TCP delivers them; a PDU comes out
 * when its header, AHS, digests and padded data have all arrived and the
 * digests match. The largest data segment accepted is `max_data`, our
 * declared MaxRecvDataSegmentLength.
 */
#define ISCSI_MAX_AHS (255 * 4)
#define ISCSI_RX_DATA_MAX (64 * 1024)
struct iscsi_rx {
	uint8_t hdr[48 + ISCSI_MAX_AHS + 4];
	uint8_t data[ISCSI_RX_DATA_MAX + 4 + 4];
	uint32_t have; /* bytes of the current PDU collected */
	uint32_t need_hdr, need_total; /* known once the BHS is in */
	uint32_t data_len; /* DataSegmentLength of the current PDU */
	uint32_t max_data;
	int hdr_digest, data_digest;
};

void iscsi_rx_reset(struct iscsi_rx *rx, uint32_t max_data);
/*
 * Consumes bytes from `p` (at most `n`), stores how many in `*used`.
 * Returns 1 when a whole PDU is ready (rx->hdr, rx->data, rx->data_len;
 * call iscsi_rx_next() before feeding more), 0 when more bytes are
 * needed, or -EINVAL/-E2BIG/-EIO (bad digest) with `why` set to a reason.
 */
int iscsi_rx_feed(struct iscsi_rx *rx, const uint8_t *p, size_t n, size_t *used,
		  const char **why);
void iscsi_rx_next(struct iscsi_rx *rx);

/*
 * Checks the fixed rules of a target-to-initiator BHS that do not depend
 * on session state: known opcode, AHS absent where the RFC forbids it,
 * data allowed for this opcode. Returns 0 or -EINVAL with `why` set.
 */
int iscsi_bhs_check(const struct iscsi_bhs *h, uint32_t data_len, const char **why);

/*
 * Writes one PDU (header, optional header digest, data, padding, optional
 * data digest) to `out`, which must hold iscsi_pdu_size() bytes. The
 * header's DataSegmentLength is set from `len`. Returns the size written.
 */
size_t iscsi_pdu_size(uint32_t len, int hdr_digest, int data_digest);
size_t iscsi_pdu_write(uint8_t *out, const void *bhs, const void *data, uint32_t len,
		       int hdr_digest, int data_digest);

#endif
