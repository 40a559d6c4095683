/*
 * net/iscsi/text.c - building and walking key=value text (RFC 7143 6.1).
 * Portable. Input is untrusted: every pair is checked before use.
 */
#include "net/iscsi/text.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

int iscsi_text_add(struct iscsi_text_buf *t, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value), need = kl + 1 + vl + 1;
	if (need > t->cap - t->len)
		return -E2BIG;
	memcpy(t->buf + t->len, key, kl);
	t->buf[t->len + kl] = '=';
	memcpy(t->buf + t->len + kl + 1, value, vl + 1);
	t->len += need;
	return 0;
}

/* key=decimal value; -E2BIG when it does not fit. */
int iscsi_text_add_num(struct iscsi_text_buf *t, const char *key, uint64_t v)
{
	char num[24];
	fmt_snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return iscsi_text_add(t, key, num);
}

/* 6.1: key names are letters, digits, '.', '-', '+', '@', '_'. */
static int key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '+' || c == '@' || c == '_';
}

/* See text.h: 1 and the next pair, 0 at the end, -EINVAL when malformed. */
int iscsi_text_next(const char *data, size_t len, size_t *pos, struct iscsi_kv *kv)
{
	size_t p = *pos, k = 0;
	while (p < len && data[p] == 0)
		p++; /* tolerate padding NULs between pairs */
	if (p >= len)
		return 0;
	while (p < len && data[p] != '=' && data[p]) {
		if (k >= ISCSI_KEY_MAX || !key_char_ok(data[p]))
			return -EINVAL;
		kv->key[k++] = data[p++];
	}
	if (!k || p >= len || data[p] != '=')
		return -EINVAL;
	kv->key[k] = 0;
	kv->value = data + ++p;
	while (p < len && data[p])
		p++;
	if (p >= len)
		return -EINVAL; /* the last pair must be NUL-terminated too */
	kv->value_len = (size_t)(data + p - kv->value);
	*pos = p + 1;
	return 1;
}

static int digit_value(char c, int hex)
{
	if (hex)
		return fmt_hexdigit(c);
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

/* A decimal or 0x-hex number up to max; -EINVAL or -ERANGE. */
int iscsi_text_num(const char *v, uint64_t max, uint64_t *out)
{
	int hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
	uint64_t base = hex ? 16 : 10, n = 0;
	const char *p = hex ? v + 2 : v;
	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		int d = digit_value(*p, hex);
		if (d < 0)
			return -EINVAL;
		if (n > (max - (uint64_t)d) / base)
			return -ERANGE;
		n = n * base + (uint64_t)d;
	}
	*out = n;
	return 0;
}

/* "Yes" or "No" into *out; -EINVAL otherwise. */
int iscsi_text_bool(const char *v, int *out)
{
	if (!strcmp(v, "Yes"))
		return *out = 1, 0;
	if (!strcmp(v, "No"))
		return *out = 0, 0;
	return -EINVAL;
}
