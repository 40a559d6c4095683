/*
 * net/iscsi/scsi.h - the SCSI side of the initiator: command descriptor
 * blocks (SPC-4, SBC-3), sense data decoding (SPC-4 4.5) and the parsers
 * for INQUIRY, READ CAPACITY and REPORT LUNS data. Portable.
 */
#ifndef HAKO_ISCSI_SCSI_H
#define HAKO_ISCSI_SCSI_H

#include <stddef.h>
#include <stdint.h>

/* Operation codes (SPC-4 / SBC-3). */
#define SCSI_TEST_UNIT_READY 0x00
#define SCSI_INQUIRY 0x12
#define SCSI_READ_CAPACITY_10 0x25
#define SCSI_SYNCHRONIZE_CACHE_10 0x35
#define SCSI_READ_16 0x88
#define SCSI_WRITE_16 0x8a
#define SCSI_SYNCHRONIZE_CACHE_16 0x91
#define SCSI_SERVICE_ACTION_IN_16 0x9e
#define  SCSI_SAI_READ_CAPACITY_16 0x10
#define SCSI_REPORT_LUNS 0xa0

/* Status bytes (SAM-5 5.3.1). */
#define SCSI_STATUS_GOOD 0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02
#define SCSI_STATUS_BUSY 0x08
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define SCSI_STATUS_TASK_SET_FULL 0x28

/* Sense keys (SPC-4 4.5.6). */
#define SENSE_NOT_READY 0x2
#define SENSE_MEDIUM_ERROR 0x3
#define SENSE_ILLEGAL_REQUEST 0x5
#define SENSE_UNIT_ATTENTION 0x6
#define SENSE_DATA_PROTECT 0x7

struct scsi_sense {
	uint8_t key, asc, ascq;
};

/* CDB builders; each returns the CDB length. */
int scsi_cdb_tur(uint8_t cdb[16]);
int scsi_cdb_inquiry(uint8_t cdb[16], uint16_t alloc);
int scsi_cdb_report_luns(uint8_t cdb[16], uint32_t alloc);
int scsi_cdb_read_capacity10(uint8_t cdb[16]);
int scsi_cdb_read_capacity16(uint8_t cdb[16], uint32_t alloc);
int scsi_cdb_rw16(uint8_t cdb[16], int write, uint64_t lba, uint32_t blocks);
int scsi_cdb_sync_cache10(uint8_t cdb[16]);
int scsi_cdb_sync_cache16(uint8_t cdb[16]);

/*
 * Decodes fixed (0x70/0x71) or descriptor (0x72/0x73) sense data.
 * Returns 0 or -EINVAL when it is neither or too short.
 */
int scsi_sense_parse(const uint8_t *s, size_t len, struct scsi_sense *out);
/* A short text for a sense key, e.g. "ILLEGAL REQUEST". */
const char *scsi_sense_key_str(uint8_t key);
/* Writes "KEY (asc/ascq): description" into buf. */
void scsi_sense_describe(const struct scsi_sense *s, char *buf, size_t n);

struct scsi_capacity {
	uint64_t blocks; /* last LBA + 1 */
	uint32_t block_size;
};
/* READ CAPACITY (10) and (16) parameter data (SBC-3 5.16, 5.17). */
int scsi_parse_capacity10(const uint8_t *d, size_t len, struct scsi_capacity *c);
int scsi_parse_capacity16(const uint8_t *d, size_t len, struct scsi_capacity *c);

/*
 * REPORT LUNS (SPC-4 6.33): the LUN numbers of the entries present in
 * d[0..len), up to `max`, go to `luns`; returns how many (never the count
 * the target claims). -EINVAL when the list length is inconsistent.
 */
int scsi_parse_report_luns(const uint8_t *d, size_t len, uint64_t *luns, int max);

/* INQUIRY standard data (SPC-4 6.4.2): device type, vendor, product. */
struct scsi_inquiry {
	uint8_t peripheral_type;
	char vendor[9], product[17], revision[5];
};
int scsi_parse_inquiry(const uint8_t *d, size_t len, struct scsi_inquiry *inq);

#endif
