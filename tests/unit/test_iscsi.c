/*
 * tests/unit/test_iscsi.c - the iSCSI codecs: CRC32C (RFC 3720 B.4), MD5
 * (RFC 1321 A.5), CHAP and binary encodings, key=value text, the PDU
 * assembler with digests, BHS checks, SCSI parsers and iscsi:// URLs.
 */
#include <stdlib.h>

#include "check.h"
#include "net/iscsi/chap.h"
#include "net/iscsi/crc32c.h"
#include "net/iscsi/exec.h"
#include "net/crypto/md5.h"
#include "net/iscsi/pdu.h"
#include "net/iscsi/scsi.h"
#include "net/iscsi/text.h"
#include "vmm/core/lib/errno.h"

static void test_crc32c_vectors(void)
{
	uint8_t b[48];
	memset(b, 0, 32);
	CHECK_EQ(crc32c(b, 32), 0x8a9136aa);
	memset(b, 0xff, 32);
	CHECK_EQ(crc32c(b, 32), 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	CHECK_EQ(crc32c(b, 32), 0x46dd794e);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	CHECK_EQ(crc32c(b, 32), 0x113fdb5c);
	/* B.4: an iSCSI SCSI Read (10) command PDU */
	static const uint8_t read_pdu[48] = {
		0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0,
		0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18, 0x28, 0, 0, 0, 0, 0,
		0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
	};
	CHECK_EQ(crc32c(read_pdu, 48), 0xd9963a56);
	CHECK_EQ(crc32c_update(crc32c(read_pdu, 20), read_pdu + 20, 28), 0xd9963a56);
	CHECK_EQ(crc32c(b, 0), 0);
}

static void md5_hex(const char *in, char *out)
{
	uint8_t d[16];
	md5(in, strlen(in), d);
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_md5_vectors(void)
{
	static const char *const v[][2] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890123456789012345678901234567890123456"
		  "7890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	char hex[33];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		md5_hex(v[i][0], hex);
		CHECK_STREQ(hex, v[i][1]);
	}
	/* fed in odd pieces: the same digest */
	struct md5_ctx c;
	uint8_t a[16], b[16];
	const char *m = v[6][0];
	md5_init(&c);
	for (size_t i = 0, len = strlen(m); i < len; i += 3)
		md5_update(&c, m + i, len - i < 3 ? len - i : 3);
	md5_final(&c, a);
	md5(m, strlen(m), b);
	CHECK(!memcmp(a, b, 16));
}

static void test_chap(void)
{
	uint8_t chal[16], r[16], out[64];
	char hex[40];
	for (int i = 0; i < 16; i++)
		chal[i] = (uint8_t)i;
	chap_response(7, "alicesecret12", chal, 16, r);
	chap_encode_hex(r, 16, hex);
	CHECK_STREQ(hex, "0x12d1b6a5d2644d6c54e5fd724cc21d44");
	CHECK_EQ(chap_decode(hex, out, sizeof(out)), 16);
	CHECK(!memcmp(out, r, 16));
	CHECK_EQ(chap_decode("0xABC", out, sizeof(out)), 2); /* odd: leading nibble */
	CHECK_EQ(out[0], 0x0a);
	CHECK_EQ(out[1], 0xbc);
	CHECK_EQ(chap_decode("0bAAECAw==", out, sizeof(out)), 4);
	CHECK_EQ(out[3], 3);
	CHECK_EQ(chap_decode("0x", out, sizeof(out)), -EINVAL);
	CHECK_EQ(chap_decode("0xzz", out, sizeof(out)), -EINVAL);
	CHECK_EQ(chap_decode("1234", out, sizeof(out)), -EINVAL);
	CHECK_EQ(chap_decode("0b!!", out, sizeof(out)), -EINVAL);
	CHECK_EQ(chap_decode("0bAA=x", out, sizeof(out)), -EINVAL);
	CHECK_EQ(chap_decode("0x0102030405", out, 4), -E2BIG);
	CHECK_EQ(chap_decode("0bAAECAwQ=", out, 4), -E2BIG);
}

static void test_text_build_and_walk(void)
{
	char buf[64];
	struct iscsi_text_buf t = { buf, sizeof(buf), 0 };
	struct iscsi_kv kv;
	size_t pos = 0;
	CHECK_EQ(iscsi_text_add(&t, "HeaderDigest", "None"), 0);
	CHECK_EQ(iscsi_text_add_num(&t, "MaxBurstLength", 262144), 0);
	CHECK_EQ(iscsi_text_add(&t, "X", "0123456789012345678901234567890123456789"), -E2BIG);
	CHECK_EQ(t.len, strlen("HeaderDigest=None") + 1 + strlen("MaxBurstLength=262144") + 1);
	CHECK_EQ(iscsi_text_next(buf, t.len, &pos, &kv), 1);
	CHECK_STREQ(kv.key, "HeaderDigest");
	CHECK_STREQ(kv.value, "None");
	CHECK_EQ(iscsi_text_next(buf, t.len, &pos, &kv), 1);
	CHECK_STREQ(kv.value, "262144");
	CHECK_EQ(iscsi_text_next(buf, t.len, &pos, &kv), 0);
}

static int walk_one(const char *d, size_t len)
{
	struct iscsi_kv kv;
	size_t pos = 0;
	return iscsi_text_next(d, len, &pos, &kv);
}

static void test_text_malformed(void)
{
	CHECK_EQ(walk_one("Key=Value", 9), -EINVAL); /* no NUL */
	CHECK_EQ(walk_one("KeyValue\0", 9), -EINVAL); /* no '=' */
	CHECK_EQ(walk_one("=Value\0", 7), -EINVAL); /* empty key */
	CHECK_EQ(walk_one("K y=1\0", 6), -EINVAL); /* bad key character */
	char longkey[80];
	memset(longkey, 'a', 70);
	memcpy(longkey + 70, "=1", 3);
	CHECK_EQ(walk_one(longkey, 73), -EINVAL);
	CHECK_EQ(walk_one("\0\0\0", 3), 0); /* padding only */
	CHECK_EQ(walk_one("K=\0", 3), 1); /* empty value is legal */
	uint64_t n;
	int b;
	CHECK_EQ(iscsi_text_num("8192", 1u << 24, &n), 0);
	CHECK_EQ(n, 8192);
	CHECK_EQ(iscsi_text_num("0x2000", 1u << 24, &n), 0);
	CHECK_EQ(n, 8192);
	CHECK_EQ(iscsi_text_num("", 100, &n), -EINVAL);
	CHECK_EQ(iscsi_text_num("0x", 100, &n), -EINVAL);
	CHECK_EQ(iscsi_text_num("12a", 100, &n), -EINVAL);
	CHECK_EQ(iscsi_text_num("101", 100, &n), -ERANGE);
	CHECK_EQ(iscsi_text_num("99999999999999999999999", ~0ull, &n), -ERANGE);
	CHECK_EQ(iscsi_text_bool("Yes", &b), 0);
	CHECK_EQ(b, 1);
	CHECK_EQ(iscsi_text_bool("yes", &b), -EINVAL);
}

/* Builds a PDU with optional AHS and digests, as a target would. */
static size_t make_pdu(uint8_t *out, uint8_t op, int ahs_words, const char *data, int digests)
{
	uint8_t hdr[48 + 8];
	memset(hdr, 0, sizeof(hdr));
	hdr[0] = op, hdr[4] = (uint8_t)ahs_words;
	uint32_t len = data ? (uint32_t)strlen(data) : 0;
	iscsi_bhs_set_data_len((struct iscsi_bhs *)hdr, len);
	size_t n = 48 + 4 * (size_t)ahs_words, at = n;
	memcpy(out, hdr, n);
	if (digests) {
		uint32_t c = crc32c(out, n);
		memcpy(out + at, &c, 4), at += 4;
	}
	if (len) {
		uint32_t pad = iscsi_pad4(len);
		memcpy(out + at, data, len);
		memset(out + at + len, 0, pad);
		if (digests) {
			uint32_t c = crc32c(out + at, len + pad);
			memcpy(out + at + len + pad, &c, 4);
		}
		at += len + pad + (digests ? 4 : 0);
	}
	return at;
}

static void test_rx_assembler(void)
{
	static struct iscsi_rx rx;
	uint8_t pdu[256];
	const char *why = "";
	size_t used, n = make_pdu(pdu, ISCSI_OP_TEXT_RSP, 2, "abcde", 0);
	iscsi_rx_reset(&rx, 8192);
	int r = 0;
	size_t i = 0;
	for (; i < n && r == 0; i += used) /* one byte at a time */
		r = iscsi_rx_feed(&rx, pdu + i, 1, &used, &why);
	CHECK_EQ(r, 1);
	CHECK_EQ(i, n);
	CHECK_EQ(rx.data_len, 5);
	CHECK(!memcmp(rx.data, "abcde", 5));
	iscsi_rx_next(&rx);
	/* two PDUs in one buffer, digests on: the feed stops after the first */
	rx.hdr_digest = rx.data_digest = 1;
	n = make_pdu(pdu, ISCSI_OP_NOP_IN, 0, "xy", 1);
	size_t n2 = make_pdu(pdu + n, ISCSI_OP_NOP_IN, 0, 0, 1);
	CHECK_EQ(iscsi_rx_feed(&rx, pdu, n + n2, &used, &why), 1);
	CHECK_EQ(used, n);
	iscsi_rx_next(&rx);
	CHECK_EQ(iscsi_rx_feed(&rx, pdu + n, n2, &used, &why), 1);
	iscsi_rx_next(&rx);
	/* a flipped bit in the header, then in the data */
	n = make_pdu(pdu, ISCSI_OP_NOP_IN, 0, "xy", 1);
	pdu[20] ^= 1;
	CHECK_EQ(iscsi_rx_feed(&rx, pdu, n, &used, &why), -EIO);
	CHECK_STREQ(why, "header digest mismatch");
	iscsi_rx_next(&rx);
	pdu[20] ^= 1;
	pdu[52] ^= 1;
	CHECK_EQ(iscsi_rx_feed(&rx, pdu, n, &used, &why), -EIO);
	CHECK_STREQ(why, "data digest mismatch");
	/* a data segment over our MaxRecvDataSegmentLength */
	iscsi_rx_reset(&rx, 512);
	memset(pdu, 0, 48);
	iscsi_bhs_set_data_len((struct iscsi_bhs *)pdu, 513);
	CHECK_EQ(iscsi_rx_feed(&rx, pdu, 48, &used, &why), -E2BIG);
}

static void test_bhs_check(void)
{
	struct iscsi_bhs h;
	const char *why;
	memset(&h, 0, sizeof(h));
	h.opcode = ISCSI_OP_SCSI_RSP;
	CHECK_EQ(iscsi_bhs_check(&h, 10, &why), 0);
	h.opcode = ISCSI_OP_SCSI_CMD; /* initiator opcode from a target */
	CHECK_EQ(iscsi_bhs_check(&h, 0, &why), -EINVAL);
	h.opcode = 0x1c;
	CHECK_EQ(iscsi_bhs_check(&h, 0, &why), -EINVAL);
	h.opcode = ISCSI_OP_NOP_IN | ISCSI_OP_IMMEDIATE;
	CHECK_EQ(iscsi_bhs_check(&h, 0, &why), -EINVAL);
	h.opcode = ISCSI_OP_R2T;
	CHECK_EQ(iscsi_bhs_check(&h, 4, &why), -EINVAL);
	CHECK_EQ(iscsi_bhs_check(&h, 0, &why), 0);
	uint8_t lun[8];
	iscsi_lun_encode(lun, 5);
	CHECK_EQ(lun[1], 5);
	CHECK_EQ(iscsi_lun_decode(lun), 5);
	iscsi_lun_encode(lun, 300);
	CHECK_EQ(lun[0], 0x41);
	CHECK_EQ(iscsi_lun_decode(lun), 300);
	CHECK(iscsi_sn_lt(0xfffffff0u, 5));
	CHECK(!iscsi_sn_lt(5, 0xfffffff0u));
}

static void test_scsi_parsers(void)
{
	uint8_t fixed[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0x00 };
	uint8_t desc[8] = { 0x72, 0x06, 0x29, 0x00 };
	struct scsi_sense sn;
	char text[96];
	CHECK_EQ(scsi_sense_parse(fixed, sizeof(fixed), &sn), 0);
	CHECK_EQ(sn.key, SENSE_ILLEGAL_REQUEST);
	scsi_sense_describe(&sn, text, sizeof(text));
	CHECK_STREQ(text, "ILLEGAL REQUEST (asc 0x24 ascq 0x00): invalid field in CDB");
	CHECK_EQ(scsi_sense_parse(desc, 4, &sn), 0);
	CHECK_EQ(sn.key, SENSE_UNIT_ATTENTION);
	CHECK_EQ(sn.asc, 0x29);
	CHECK_EQ(scsi_sense_parse(fixed, 13, &sn), -EINVAL);
	CHECK_EQ(scsi_sense_parse((const uint8_t *)"\x55", 1, &sn), -EINVAL);
	CHECK_EQ(scsi_sense_parse(fixed, 0, &sn), -EINVAL);

	struct scsi_capacity c;
	uint8_t rc16[32] = { 0, 0, 0, 0, 0, 0x01, 0xff, 0xff, 0, 0, 0x10, 0 };
	CHECK_EQ(scsi_parse_capacity16(rc16, 32, &c), 0);
	CHECK_EQ(c.blocks, 0x20000);
	CHECK_EQ(c.block_size, 4096);
	CHECK_EQ(scsi_parse_capacity16(rc16, 11, &c), -EINVAL);
	uint8_t rc10[8] = { 0, 0, 0x7f, 0xff, 0, 0, 2, 0 };
	CHECK_EQ(scsi_parse_capacity10(rc10, 8, &c), 0);
	CHECK_EQ(c.blocks, 0x8000);
	CHECK_EQ(c.block_size, 512);
	rc10[6] = 0;
	CHECK_EQ(scsi_parse_capacity10(rc10, 8, &c), -EINVAL); /* block size 0 */

	uint8_t rl[32] = { 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
			   0x40, 0x12, 0, 0, 0, 0, 0, 0 };
	uint64_t luns[4];
	CHECK_EQ(scsi_parse_report_luns(rl, 32, luns, 4), 3);
	CHECK_EQ(luns[1], 1);
	CHECK_EQ(luns[2], 0x12);
	/* truncated: only the entries read count, never the length claimed (issue 17) */
	luns[1] = 0x5a5a;
	CHECK_EQ(scsi_parse_report_luns(rl, 20, luns, 4), 1);
	CHECK_EQ(luns[1], 0x5a5a);
	CHECK_EQ(scsi_parse_report_luns(rl, 32, luns, 2), 2); /* and at most max */
	uint8_t claims_all[16] = { 0xff, 0xff, 0xff, 0xf8, 0, 0, 0, 0, 0, 7 };
	CHECK_EQ(scsi_parse_report_luns(claims_all, 16, luns, 4), 1);
	CHECK_EQ(luns[0], 7);
	rl[3] = 23;
	CHECK_EQ(scsi_parse_report_luns(rl, 32, luns, 4), -EINVAL);
	CHECK_EQ(scsi_parse_report_luns(rl, 7, luns, 4), -EINVAL);

	uint8_t inq[36] = { 0 };
	struct scsi_inquiry iq;
	memcpy(inq + 8, "IET     VIRTUAL-DISK    0001", 28);
	CHECK_EQ(scsi_parse_inquiry(inq, 36, &iq), 0);
	CHECK_STREQ(iq.vendor, "IET");
	CHECK_STREQ(iq.product, "VIRTUAL-DISK");
	CHECK_EQ(scsi_parse_inquiry(inq, 35, &iq), -EINVAL);

	uint8_t cdb[16];
	CHECK_EQ(scsi_cdb_rw16(cdb, 1, 0x0102030405ull, 8), 16);
	CHECK_EQ(cdb[0], SCSI_WRITE_16);
	CHECK_EQ(cdb[5], 0x01);
	CHECK_EQ(cdb[9], 0x05);
	CHECK_EQ(cdb[13], 8);
}

static void test_url(void)
{
	struct iscsi_url u;
	const char *why;
	CHECK_EQ(iscsi_url_parse("iscsi://alice%s3cret@10.0.2.2:3261/iqn.2026-11.x:y/1", 1, &u, &why), 0);
	CHECK_STREQ(u.user, "alice");
	CHECK_STREQ(u.secret, "s3cret");
	CHECK_STREQ(u.host, "10.0.2.2");
	CHECK_EQ(u.port, 3261);
	CHECK_STREQ(u.target, "iqn.2026-11.x:y");
	CHECK_EQ(u.lun, 1);
	CHECK_EQ(iscsi_url_parse("iscsi://h/iqn.x:y", 0, &u, &why), 0);
	CHECK_EQ(u.port, 3260);
	CHECK_EQ(u.has_lun, 0);
	CHECK_EQ(iscsi_url_parse("iscsi://h/iqn.x:y", 1, &u, &why), -EINVAL);
	CHECK_STREQ(why, "URL needs /LUN after the IQN");
	CHECK_EQ(iscsi_url_parse("http://h/iqn/1", 1, &u, &why), -EINVAL);
	CHECK_EQ(iscsi_url_parse("iscsi://h:99999/iqn/1", 1, &u, &why), -EINVAL);
	CHECK_EQ(iscsi_url_parse("iscsi://h:/iqn/1", 1, &u, &why), -EINVAL);
	CHECK_EQ(iscsi_url_parse("iscsi://h/iqn/1x", 1, &u, &why), -EINVAL);
	CHECK_EQ(iscsi_url_parse("iscsi://h/iqn/16384", 1, &u, &why), -EINVAL);
	CHECK_EQ(iscsi_url_parse("iscsi://%x@h/iqn/1", 1, &u, &why), -EINVAL);
	CHECK_EQ(iscsi_url_parse("iscsi:///iqn/1", 1, &u, &why), -EINVAL);
	CHECK_EQ(iscsi_url_parse("iscsi://h//1", 1, &u, &why), -EINVAL);
	char big[400];
	memset(big, 'a', sizeof(big));
	memcpy(big, "iscsi://", 8);
	big[sizeof(big) - 1] = 0;
	CHECK_EQ(iscsi_url_parse(big, 1, &u, &why), -EINVAL);
}

/* Issue 17 finding 7: mutual CHAP and digests reach the initiator from the URL. */
static void test_url_options(void)
{
	struct iscsi_url u;
	const char *why;
	CHECK_EQ(iscsi_url_parse("iscsi://alice%s3cret@h:3261/iqn.2026-11.x:y/2?target_user=tgt"
				 "&target_password=t%p?w@d&header_digest=crc32c&data_digest=crc32c-none",
				 1, &u, &why), 0);
	CHECK_STREQ(u.target, "iqn.2026-11.x:y");
	CHECK_EQ(u.lun, 2);
	CHECK_STREQ(u.target_user, "tgt");
	CHECK_STREQ(u.target_secret, "t%p?w@d");
	CHECK_EQ(u.header_digest, ISCSI_DIGEST_REQUIRE);
	CHECK_EQ(u.data_digest, ISCSI_DIGEST_PREFER);
	CHECK_EQ(iscsi_url_parse("iscsi://h/iqn.x:y/1?header_digest=none", 1, &u, &why), 0);
	CHECK_EQ(u.header_digest, ISCSI_DIGEST_NONE);
	CHECK_EQ(iscsi_url_parse("iscsi://h/iqn.x:y/1", 1, &u, &why), 0);
	CHECK_EQ(u.header_digest + u.data_digest, 0);
	CHECK(!u.target_user[0]);
	/* the LUN may be left out (iscsi luns), options still follow */
	CHECK_EQ(iscsi_url_parse("iscsi://a%b@h/iqn.x:y?target_user=t&target_password=p", 0, &u,
				 &why), 0);
	CHECK_EQ(u.has_lun, 0);
	CHECK_STREQ(u.target, "iqn.x:y");
	CHECK_STREQ(u.target_secret, "p");
	/* a '?' in the initiator's secret is not a query */
	CHECK_EQ(iscsi_url_parse("iscsi://a%b?c@h/iqn.x:y/1", 1, &u, &why), 0);
	CHECK_STREQ(u.secret, "b?c");

	static const char *const bad[] = {
		"iscsi://h/iqn.x/1?header_digest=md5",
		"iscsi://h/iqn.x/1?header_digest=",
		"iscsi://h/iqn.x/1?data_digest",
		"iscsi://h/iqn.x/1?colour=blue",
		"iscsi://a%b@h/iqn.x/1?target_user=t",          /* no target_password */
		"iscsi://a%b@h/iqn.x/1?target_password=p",      /* no target_user */
		"iscsi://h/iqn.x/1?target_user=t&target_password=p", /* no USER%SECRET */
		"iscsi://a@h/iqn.x/1?target_user=t&target_password=p", /* no SECRET */
		"iscsi://h/iqn.x/1x?header_digest=none",
		"iscsi://h/?header_digest=none",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = iscsi_url_parse(bad[i], 1, &u, &why);
		if (rc != -EINVAL)
			printf("     accepted: %s\n", bad[i]);
		CHECK_EQ(rc, -EINVAL);
	}
	CHECK_EQ(iscsi_url_parse("iscsi://h/iqn.x/1?colour=blue", 1, &u, &why), -EINVAL);
	CHECK_CONTAINS(why, "unknown option");
	CHECK_EQ(iscsi_url_parse("iscsi://h/iqn.x/1?target_user=t&target_password=p", 1, &u, &why),
		 -EINVAL);
	CHECK_CONTAINS(why, "USER%SECRET");
	char big[300];
	memset(big, 'p', sizeof(big));
	strcpy(big, "iscsi://a%b@h/iqn.x/1?target_user=t&target_password=");
	big[sizeof(big) - 1] = 0;
	big[strlen(big)] = 'p';
	CHECK_EQ(iscsi_url_parse(big, 1, &u, &why), -EINVAL);
}

int main(void)
{
	RUN(test_crc32c_vectors);
	RUN(test_md5_vectors);
	RUN(test_chap);
	RUN(test_text_build_and_walk);
	RUN(test_text_malformed);
	RUN(test_rx_assembler);
	RUN(test_bhs_check);
	RUN(test_scsi_parsers);
	RUN(test_url);
	RUN(test_url_options);
	return check_done();
}
