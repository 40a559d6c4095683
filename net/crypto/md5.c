/*
 * net/crypto/md5.c - MD5 on BearSSL's br_md5. lwIP carries an MD5 too
 * (src/netif/ppp/polarssl/md5.c), but it compiles to nothing unless PPP
 * support is on (PPP_SUPPORT && LWIP_INCLUDED_POLARSSL_MD5), and it is an
 * old PolarSSL copy kept for PPP's sake; BearSSL's is maintained as part of
 * a crypto library, and hako's other hashes, HMAC and the DRBG come from
 * BearSSL already. RFC 1321's vectors are in test_iscsi.c. Portable.
 */
#include "net/crypto/md5.h"

#include "bearssl_hash.h"
#include "vmm/core/lib/string.h"

_Static_assert(sizeof(br_md5_context) <= sizeof(struct md5_ctx),
	       "struct md5_ctx holds a br_md5_context");

static br_md5_context *ctx(struct md5_ctx *c)
{
	return (br_md5_context *)(void *)c->opaque;
}

void md5_init(struct md5_ctx *c)
{
	br_md5_init(ctx(c));
}

void md5_update(struct md5_ctx *c, const void *data, size_t len)
{
	br_md5_update(ctx(c), data, len);
}

void md5_final(struct md5_ctx *c, uint8_t out[MD5_DIGEST_LEN])
{
	br_md5_out(ctx(c), out);
	memset(c, 0, sizeof(*c));
}

void md5(const void *data, size_t len, uint8_t out[MD5_DIGEST_LEN])
{
	struct md5_ctx c;
	md5_init(&c);
	md5_update(&c, data, len);
	md5_final(&c, out);
}
