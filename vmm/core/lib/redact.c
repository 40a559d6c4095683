/*
 * vmm/core/lib/redact.c - secrets out of URLs, control characters out of
 * untrusted strings (redact.h). Every place that shows a disk, catalog or
 * pool URL (stats, host, log, the disk verbs' confirmations, errors) goes
 * through redact_url(); only the catalog's own record keeps the secret.
 * Portable.
 */
#include "vmm/core/lib/redact.h"

#include <stddef.h>

/* Query keys whose value is a secret (the libiscsi URL form's mutual CHAP). */
static const char *const secret_keys[] = { "target_password=", "target_secret=", "password=" };

static int starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

/* Appends string `s` to out[*o], leaving room for the terminator. */
static void put(char *out, unsigned len, unsigned *o, const char *s)
{
	while (*s && *o + 1 < len)
		out[(*o)++] = *s++;
}

/* The '@' ending the user-info that starts at p (before any '/'), or NULL. */
static const char *userinfo_end(const char *p)
{
	while (*p && *p != '@' && *p != '/' && *p != '?')
		p++;
	return *p == '@' ? p : NULL;
}

/* A query key at p (just after '?' or '&') whose value is secret: its length, else 0. */
static unsigned secret_key(const char *p)
{
	for (unsigned i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
		if (starts(p, secret_keys[i])) {
			unsigned n = 0;
			while (secret_keys[i][n])
				n++;
			return n;
		}
	return 0;
}

/*
 * redact_url - copies `url` (any text holding URLs, such as `cow:7:iscsi://...`)
 * to out (len bytes, always terminated) with the SECRET of each
 * "scheme://USER%SECRET@" and the value of each secret query key
 * (`?target_password=...`) replaced by "****". Text without secrets comes
 * out unchanged. Returns the length written.
 */
unsigned redact_url(const char *url, char *out, unsigned len)
{
	unsigned o = 0;
	int in_authority = 0, in_query = 0;
	if (!len)
		return 0;
	for (const char *p = url; *p && o + 1 < len;) {
		if (starts(p, "://")) {
			put(out, len, &o, "://");
			p += 3, in_authority = 1, in_query = 0;
			continue;
		}
		if (*p == '/' || *p == '@')
			in_authority = 0;
		if (in_authority && *p == '%' && userinfo_end(p)) {
			put(out, len, &o, "%" REDACT_MASK);
			p = userinfo_end(p);
			continue;
		}
		if (*p == '?')
			in_query = 1;
		unsigned k = (in_query && (*p == '?' || *p == '&')) ? secret_key(p + 1) : 0;
		if (k) {
			out[o++] = *p++;
			for (unsigned i = 0; i < k && o + 1 < len; i++)
				out[o++] = *p++;
			put(out, len, &o, REDACT_MASK);
			while (*p && *p != '&')
				p++;
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = 0;
	return o;
}

/* A byte that may reach a terminal as it is: printable ASCII. */
static int shown_as_is(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

/*
 * redact_text - copies `in` to out (len bytes, always terminated) with
 * every control character (ESC, CR, LF, BEL...) and every byte above
 * 0x7e replaced by '?', so that nothing a target sent can move a
 * terminal's cursor or retitle its window. Returns the length written.
 */
unsigned redact_text(const char *in, char *out, unsigned len)
{
	unsigned o = 0;
	if (!len)
		return 0;
	for (const char *p = in; *p && o + 1 < len; p++)
		out[o++] = shown_as_is((unsigned char)*p) ? *p : '?';
	out[o] = 0;
	return o;
}

/* redact_text() of s in place. */
void redact_text_inplace(char *s)
{
	for (; *s; s++)
		if (!shown_as_is((unsigned char)*s))
			*s = '?';
}
