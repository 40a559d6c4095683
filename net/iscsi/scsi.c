/*
 * net/iscsi/scsi.c - CDBs, sense data and parameter data parsers
 * (SPC-4, SBC-3). Portable. Data from the target is untrusted: lengths
 * are checked before every read.
 */
#include "net/iscsi/scsi.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

int scsi_cdb_tur(uint8_t cdb[16])
{
	memset(cdb, 0, 16);
	return 6;
}

int scsi_cdb_inquiry(uint8_t cdb[16], uint16_t alloc)
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_INQUIRY;
	put_be(cdb + 3, alloc, 2);
	return 6;
}

int scsi_cdb_report_luns(uint8_t cdb[16], uint32_t alloc)
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_REPORT_LUNS;
	put_be(cdb + 6, alloc, 4);
	return 12;
}

int scsi_cdb_read_capacity10(uint8_t cdb[16])
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_READ_CAPACITY_10;
	return 10;
}

int scsi_cdb_read_capacity16(uint8_t cdb[16], uint32_t alloc)
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_SERVICE_ACTION_IN_16;
	cdb[1] = SCSI_SAI_READ_CAPACITY_16;
	put_be(cdb + 10, alloc, 4);
	return 16;
}

int scsi_cdb_rw16(uint8_t cdb[16], int write, uint64_t lba, uint32_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = write ? SCSI_WRITE_16 : SCSI_READ_16;
	put_be(cdb + 2, lba, 8);
	put_be(cdb + 10, blocks, 4);
	return 16;
}

int scsi_cdb_sync_cache10(uint8_t cdb[16])
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_SYNCHRONIZE_CACHE_10; /* LBA 0, 0 blocks: the whole medium */
	return 10;
}

int scsi_cdb_sync_cache16(uint8_t cdb[16])
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_SYNCHRONIZE_CACHE_16;
	return 16;
}

/* SPC-4 4.5.2 (descriptor) and 4.5.3 (fixed format). */
int scsi_sense_parse(const uint8_t *s, size_t len, struct scsi_sense *out)
{
	if (len < 1)
		return -EINVAL;
	uint8_t code = s[0] & 0x7f;
	if ((code == 0x70 || code == 0x71) && len >= 14) {
		out->key = s[2] & 0xf, out->asc = s[12], out->ascq = s[13];
		return 0;
	}
	if ((code == 0x72 || code == 0x73) && len >= 4) {
		out->key = s[1] & 0xf, out->asc = s[2], out->ascq = s[3];
		return 0;
	}
	return -EINVAL;
}

const char *scsi_sense_key_str(uint8_t key)
{
	static const char *const names[16] = {
		"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
		"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
		"BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
		"RESERVED", "VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
	};
	return names[key & 15];
}

/* The additional sense codes an operator is likely to meet (SPC-4 D.2). */
static const struct {
	uint8_t asc, ascq;
	const char *text;
} asc_table[] = {
	{ 0x04, 0x00, "logical unit not ready" },
	{ 0x20, 0x00, "invalid command operation code" },
	{ 0x21, 0x00, "logical block address out of range" },
	{ 0x24, 0x00, "invalid field in CDB" },
	{ 0x25, 0x00, "logical unit not supported" },
	{ 0x27, 0x00, "write protected" },
	{ 0x29, 0x00, "power on, reset, or bus device reset occurred" },
	{ 0x2a, 0x01, "mode parameters changed" },
	{ 0x3a, 0x00, "medium not present" },
	{ 0x11, 0x00, "unrecovered read error" },
	{ 0x0c, 0x00, "write error" },
};

void scsi_sense_describe(const struct scsi_sense *s, char *buf, size_t n)
{
	const char *text = "";
	for (size_t i = 0; i < sizeof(asc_table) / sizeof(asc_table[0]); i++)
		if (asc_table[i].asc == s->asc && asc_table[i].ascq == s->ascq)
			text = asc_table[i].text;
	fmt_snprintf(buf, n, "%s (asc 0x%02x ascq 0x%02x)%s%s", scsi_sense_key_str(s->key),
		     s->asc, s->ascq, *text ? ": " : "", text);
}

int scsi_parse_capacity10(const uint8_t *d, size_t len, struct scsi_capacity *c)
{
	if (len < 8)
		return -EINVAL;
	c->blocks = get_be(d, 4) + 1;
	c->block_size = (uint32_t)get_be(d + 4, 4);
	return c->block_size ? 0 : -EINVAL;
}

int scsi_parse_capacity16(const uint8_t *d, size_t len, struct scsi_capacity *c)
{
	if (len < 12)
		return -EINVAL;
	uint64_t last = get_be(d, 8);
	if (last == ~0ull)
		return -EINVAL;
	c->blocks = last + 1;
	c->block_size = (uint32_t)get_be(d + 8, 4);
	return c->block_size ? 0 : -EINVAL;
}

/*
 * REPORT LUNS parameter data (SPC-4 6.33): the LUNs of the entries that
 * are really in d[0..len), at most `max`; the LUN LIST LENGTH the target
 * claims only bounds them (it may claim more than it sent, or than the
 * allocation length let it send). Returns how many went into luns, or
 * -EINVAL for a malformed header.
 */
int scsi_parse_report_luns(const uint8_t *d, size_t len, uint64_t *luns, int max)
{
	if (len < 8)
		return -EINVAL;
	uint64_t list = get_be(d, 4);
	if (list % 8)
		return -EINVAL;
	uint64_t claimed = list / 8, present = (len - 8) / 8;
	int got = 0;
	for (uint64_t i = 0; i < claimed && i < present && got < max; i++) {
		const uint8_t *e = d + 8 + 8 * i;
		luns[got++] = (uint64_t)(e[0] & 0x3f) << 8 | e[1];
	}
	return got;
}

static void copy_trimmed(char *dst, const uint8_t *src, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		dst[k++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	while (k && dst[k - 1] == ' ')
		k--;
	dst[k] = 0;
}

int scsi_parse_inquiry(const uint8_t *d, size_t len, struct scsi_inquiry *inq)
{
	if (len < 36)
		return -EINVAL;
	inq->peripheral_type = d[0] & 0x1f;
	copy_trimmed(inq->vendor, d + 8, 8);
	copy_trimmed(inq->product, d + 16, 16);
	copy_trimmed(inq->revision, d + 32, 4);
	return 0;
}
