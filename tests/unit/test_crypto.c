/*
 * tests/unit/test_crypto.c - SHA-256 against FIPS 180-2 Appendix B and
 * NIST CAVS examples, HMAC-SHA256 against RFC 4231, PBKDF2-HMAC-SHA256
 * against RFC 7914 section 11, and the password-hash format in net/auth.c.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mgmt/auth.h"
#include "net/crypto/sha256.h"

static int hex_is(const uint8_t *b, size_t n, const char *want)
{
	char got[2 * 128 + 1];
	for (size_t i = 0; i < n; i++)
		sprintf(got + 2 * i, "%02x", b[i]);
	if (strcmp(got, want)) {
		fprintf(stderr, "  got  %s\n  want %s\n", got, want);
		return 0;
	}
	return 1;
}

static void test_sha256(void)
{
	uint8_t d[32];
	sha256("", 0, d);
	CHECK(hex_is(d, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	sha256("abc", 3, d);
	CHECK(hex_is(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256(m448, strlen(m448), d);
	CHECK(hex_is(d, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	/* One million 'a', fed in uneven pieces to exercise buffering. */
	struct sha256 s;
	char a[997];
	memset(a, 'a', sizeof(a));
	sha256_init(&s);
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof(a) ? left : sizeof(a);
		sha256_update(&s, a, n);
		left -= n;
	}
	sha256_final(&s, d);
	CHECK(hex_is(d, 32, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
	/* Lengths around the padding boundary (55, 56, 64 bytes). */
	sha256(a, 55, d);
	CHECK(hex_is(d, 32, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"));
	sha256(a, 56, d);
	CHECK(hex_is(d, 32, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"));
	sha256(a, 64, d);
	CHECK(hex_is(d, 32, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"));
}

static void test_hmac(void)
{
	uint8_t d[32], key[131];
	memset(key, 0x0b, 20);
	hmac_sha256(key, 20, "Hi There", 8, d); /* RFC 4231 4.2 */
	CHECK(hex_is(d, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d); /* 4.3 */
	CHECK(hex_is(d, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
	memset(key, 0xaa, sizeof(key)); /* 4.7: a key longer than the block */
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	hmac_sha256(key, 131, m, strlen(m), d);
	CHECK(hex_is(d, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
}

static void test_pbkdf2(void)
{
	uint8_t dk[64];
	pbkdf2_hmac_sha256("passwd", 6, "salt", 4, 1, dk, 64); /* RFC 7914 11 */
	CHECK(hex_is(dk, 64, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
			     "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"));
	pbkdf2_hmac_sha256("Password", 8, "NaCl", 4, 80000, dk, 64);
	CHECK(hex_is(dk, 64, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
			     "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"));
	pbkdf2_hmac_sha256("passwd", 6, "salt", 4, 1, dk, 20); /* truncation */
	CHECK(hex_is(dk, 20, "55ac046e56e3089fec1691c22544b605f9418521"));
}

static void test_auth(void)
{
	uint8_t salt[AUTH_SALT_LEN];
	for (int i = 0; i < AUTH_SALT_LEN; i++)
		salt[i] = (uint8_t)i;
	char h[AUTH_HASH_MAX];
	CHECK(auth_hash_make(h, sizeof(h), "s3cret", salt, 1000) == 0);
	CHECK(!strncmp(h, "pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$", 52));
	CHECK(auth_hash_check(h, "s3cret") == 0);
	CHECK(auth_hash_check(h, "s3cret ") < 0);
	CHECK(auth_hash_check(h, "") < 0);
	CHECK(auth_hash_make(h, sizeof(h), "x", salt, 0) < 0);
	CHECK(auth_hash_make(h, sizeof(h), "x", salt, AUTH_ITERATIONS_MAX + 1) < 0);
	/* Malformed hashes are refused, never matched. */
	const char *bad[] = { "", "pbkdf2-sha256", "pbkdf2-sha256$$00$00", "md5$1$00$00",
			      "pbkdf2-sha256$0$000102030405060708090a0b0c0d0e0f$00",
			      "pbkdf2-sha256$99999999999$000102030405060708090a0b0c0d0e0f$00",
			      "pbkdf2-sha256$10$000102030405060708090a0b0c0d0e0$00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(auth_hash_check(bad[i], "x") == -22);
	/* A hash made by Python's hashlib (tools/hako-passwd uses it). */
	CHECK(auth_hash_check("pbkdf2-sha256$1$73616c7473616c7473616c7473616c74$"
			      "731b468a30a3ce7f2a23e6c859c9bfd574121bd99279c8ea84aabd70a5efcb29",
			      "passwd") == 0);
	/* The user table. */
	CHECK(auth_name_check("admin") == 0);
	CHECK(auth_name_check("Admin") < 0);
	CHECK(auth_name_check("1x") < 0);
	CHECK(auth_name_check("") < 0);
	CHECK(auth_user_count() == 0);
	CHECK(auth_hash_make(h, sizeof(h), "pw", salt, 10) == 0);
	CHECK(auth_set("admin", h) == 0);
	CHECK(auth_set("bad name", h) < 0);
	CHECK(auth_set("ops", "nope") < 0);
	CHECK(auth_user_count() == 1);
	CHECK(auth_login("admin", "pw") == 0);
	CHECK(auth_login("admin", "pW") < 0);
	CHECK(auth_login("root", "pw") < 0);
	CHECK(auth_user_exists("admin") && !auth_user_exists("root"));
	CHECK(auth_is_admin("admin") && !auth_is_admin("root"));
	char line[200];
	snprintf(line, sizeof(line), "admin:%s", h);
	CHECK(auth_user_line_check(line) == 0);
	CHECK(auth_user_line_check(h) < 0);
	CHECK(auth_user_line_check(":x") < 0);
}

/*
 * Issue 17 finding 9: new hashes cost more; hako.cfg lines made with the
 * old default (10,000 iterations, by tools/hako-passwd before) still work.
 */
static void test_iterations(void)
{
	CHECK(AUTH_ITERATIONS >= 100000 && AUTH_ITERATIONS <= AUTH_ITERATIONS_MAX);
	/* python3: hashlib.pbkdf2_hmac("sha256", b"correct horse", bytes(range(16)), 10000, 32) */
	CHECK(auth_hash_check("pbkdf2-sha256$10000$000102030405060708090a0b0c0d0e0f$"
			      "e515070e0353a7db013961984b87babb9edccff4aadff4d081a0cfffc316e8bf",
			      "correct horse") == 0);
	uint8_t salt[AUTH_SALT_LEN] = { 9 };
	char h[AUTH_HASH_MAX], want[32];
	CHECK(auth_hash_make(h, sizeof(h), "pw", salt, AUTH_ITERATIONS) == 0);
	snprintf(want, sizeof(want), "pbkdf2-sha256$%u$", AUTH_ITERATIONS);
	CHECK(!strncmp(h, want, strlen(want)));
	CHECK(auth_hash_check(h, "pw") == 0);
}

/* Random damage to a hash's separators, salt and key: refused or a
 * mismatch, never accepted, never a crash (a fuzz run under the sanitizers). */
static void test_auth_mutations(void)
{
	uint8_t salt[AUTH_SALT_LEN] = { 1, 2, 3 };
	char good[AUTH_HASH_MAX], h[AUTH_HASH_MAX + 8];
	CHECK(auth_hash_make(good, sizeof(good), "pw", salt, 1) == 0);
	size_t len = strlen(good), from = strlen("pbkdf2-sha256$1");
	srand(7);
	int accepted = 0;
	for (int i = 0; i < 3000; i++) {
		memcpy(h, good, len + 1);
		int edits = 1 + rand() % 3;
		for (int e = 0; e < edits; e++) {
			size_t at = from + (size_t)rand() % (len - from);
			h[at] = (char)(rand() % 3 ? "$0af9g"[rand() % 6] : 1 + rand() % 255);
		}
		if (rand() % 8 == 0)
			h[from + (size_t)rand() % (len - from)] = 0; /* truncate */
		if (!strcmp(h, good))
			continue;
		accepted += auth_hash_check(h, "pw") == 0;
	}
	CHECK_EQ(accepted, 0);
}

int main(void)
{
	RUN(test_sha256);
	RUN(test_hmac);
	RUN(test_pbkdf2);
	RUN(test_auth);
	RUN(test_iterations);
	RUN(test_auth_mutations);
	return check_done();
}
