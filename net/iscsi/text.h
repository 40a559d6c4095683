/*
 * net/iscsi/text.h - iSCSI text keys: `key=value` pairs, each ended by a
 * NUL byte, in login and text PDUs (RFC 7143 6.1, 6.2). Portable.
 */
#ifndef HAKO_ISCSI_TEXT_H
#define HAKO_ISCSI_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define ISCSI_KEY_MAX 63 /* 6.1: keys are at most 63 bytes */

struct iscsi_text_buf {
	char *buf;
	size_t cap, len;
};

/* Appends "key=value\0"; -E2BIG when it does not fit (nothing is added). */
int iscsi_text_add(struct iscsi_text_buf *t, const char *key, const char *value);
int iscsi_text_add_num(struct iscsi_text_buf *t, const char *key, uint64_t v);

struct iscsi_kv {
	char key[ISCSI_KEY_MAX + 1];
	const char *value; /* points into the data, NUL-terminated there */
	size_t value_len;
};

/*
 * Walks the pairs of `data[0..len)`. `*pos` starts at 0. Returns 1 with
 * `kv` filled, 0 at the end, or -EINVAL for a malformed pair (no '=', key
 * empty or too long, not NUL-terminated, bad characters).
 */
int iscsi_text_next(const char *data, size_t len, size_t *pos, struct iscsi_kv *kv);

/* Numbers: decimal or 0x-hex (6.1, "numerical values"). -EINVAL/-ERANGE. */
int iscsi_text_num(const char *v, uint64_t max, uint64_t *out);
/* "Yes"/"No". -EINVAL for anything else. */
int iscsi_text_bool(const char *v, int *out);

#endif
