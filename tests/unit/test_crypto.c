/*
 * tests/unit/test_crypto.c - SHA-256 against FIPS 180-2 Appendix B and
 * NIST CAVS examples, HMAC-SHA256 against RFC 4231, PBKDF2-HMAC-SHA256
 * against RFC 7914 section 11, HMAC_DRBG against NIST's CAVP vectors, the
 * RFC 6528 ISNs, and the password-hash format in net/auth.c. The hashing
 * is BearSSL's (issue 17 finding 6): these go through hako's wrappers.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mgmt/auth.h"
#include "net/crypto/drbg.h"
#include "net/crypto/isn.h"
#include "net/crypto/seed.h"
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

static void unhex(const char *h, uint8_t *out)
{
	for (size_t i = 0; h[2 * i]; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
}

/*
 * NIST CAVP HMAC_DRBG.rsp, [SHA-256], no prediction resistance, no reseed,
 * no personalization or additional input, COUNT = 0: instantiate with
 * EntropyInput || Nonce, generate 1024 bits twice, the second is
 * ReturnedBits. (Checked too against a separate SP 800-90A 10.1.2
 * implementation on Python's hmac.)
 */
static void test_drbg(void)
{
	uint8_t seed[48], out[128];
	unhex("ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488"
	      "659ba96c601dc69fc902940805ec0ca8", seed);
	struct drbg d;
	drbg_init(&d, seed, sizeof(seed));
	drbg_generate(&d, out, sizeof(out));
	drbg_generate(&d, out, sizeof(out));
	CHECK(hex_is(out, 64, "e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89"
			      "d54fbb978a15b5c443c9ec21036d2460b6f73ebad0dc2aba6e624abf07745bc1"));
	CHECK(hex_is(out + 64, 64,
		     "07694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668"
		     "961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8"));
	/* A reseed changes what follows; the same seed gives the same stream. */
	struct drbg a, b;
	uint8_t x[32], y[32];
	drbg_init(&a, seed, sizeof(seed));
	drbg_init(&b, seed, sizeof(seed));
	drbg_generate(&a, x, sizeof(x));
	drbg_generate(&b, y, sizeof(y));
	CHECK(!memcmp(x, y, sizeof(x)));
	drbg_reseed(&b, "more", 4);
	drbg_generate(&a, x, sizeof(x));
	drbg_generate(&b, y, sizeof(y));
	CHECK(memcmp(x, y, sizeof(x)));
}

/* A fake CPU for seed_drbg(): its RDSEED fails `rdseed_fail_every`-1 of
 * each that many reads (0: always), its RDRAND may be stuck at all ones. */
static struct {
	uint64_t tsc, hw, reads;
	unsigned rdseed_fail_every;
	int rdrand_stuck;
} fake;

static int fake_rdseed(uint64_t *v)
{
	fake.reads++;
	if (!fake.rdseed_fail_every || fake.reads % fake.rdseed_fail_every)
		return 0;
	*v = fake.hw += 0x9e3779b97f4a7c15ull;
	return 1;
}

static int fake_rdrand(uint64_t *v)
{
	*v = fake.rdrand_stuck ? ~0ull : (fake.hw += 0x9e3779b97f4a7c15ull);
	return 1;
}

static void fake_relax(void) {}
static uint64_t fake_tsc(void) { return fake.tsc += 40 + (fake.tsc >> 7) % 13; }

static enum seed_source seed_fake(int has_rdseed, int has_rdrand, uint8_t out[16])
{
	struct seed_cpu cpu = { has_rdseed, has_rdrand, fake_rdseed, fake_rdrand, fake_relax,
				fake_tsc };
	struct drbg d;
	fake.tsc = 1000, fake.reads = 0;
	enum seed_source s = seed_drbg(&d, &cpu);
	drbg_generate(&d, out, 16);
	return s;
}

/* The seed comes from the best source that works, and what it reads counts. */
static void test_seed_sources(void)
{
	uint8_t a[16], b[16];
	fake.hw = 1, fake.rdseed_fail_every = 4, fake.rdrand_stuck = 0;
	CHECK_EQ(seed_fake(1, 1, a), SEED_RDSEED); /* 3 of 4 reads fail: retried */
	CHECK(!strcmp(seed_source_name(SEED_RDSEED), "rdseed"));
	fake.hw = 2;
	CHECK_EQ(seed_fake(1, 1, b), SEED_RDSEED);
	CHECK(memcmp(a, b, sizeof(a))); /* other entropy, other stream */
	fake.hw = 1;
	CHECK_EQ(seed_fake(1, 1, b), SEED_RDSEED);
	CHECK(!memcmp(a, b, sizeof(a))); /* (the fake is repeatable) */
	fake.rdseed_fail_every = 0; /* RDSEED never delivers */
	CHECK_EQ(seed_fake(1, 1, a), SEED_RDRAND);
	CHECK(fake.reads >= 1000); /* it was given its patience first */
	CHECK(!strcmp(seed_source_name(SEED_RDRAND), "rdrand"));
	fake.rdrand_stuck = 1; /* all ones with CF = 1 */
	CHECK_EQ(seed_fake(1, 1, a), SEED_JITTER);
	CHECK_EQ(seed_fake(0, 0, b), SEED_JITTER);
	CHECK(!strcmp(seed_source_name(SEED_JITTER), "tsc-jitter (weak)"));
}

/* RFC 6528: another 4-tuple's ISN is unrelated; the same 4-tuple's moves
 * on with the 4-microsecond clock; another key gives other numbers. */
static void test_isn(void)
{
	uint8_t key[ISN_KEY_LEN], key2[ISN_KEY_LEN];
	for (int i = 0; i < ISN_KEY_LEN; i++)
		key[i] = (uint8_t)i, key2[i] = (uint8_t)(i + 1);
	struct isn_tuple t = { 0x0a00020f, 0x0202000a, 0x3930, 0xbc0c };
	uint64_t now = 123456789;
	uint32_t base = tcp_isn(key, &t, now);
	CHECK_EQ(tcp_isn(key, &t, now), base);
	CHECK_EQ(tcp_isn(key, &t, now + 4), base + 1);
	CHECK_EQ(tcp_isn(key, &t, now + 4000000), base + 1000000);
	uint32_t prev = base;
	for (uint64_t us = 4; us < 400000; us += 997) {
		uint32_t v = tcp_isn(key, &t, now + us);
		CHECK((int32_t)(v - prev) >= 0); /* sequence space: never backwards */
		prev = v;
	}
	CHECK(tcp_isn(key2, &t, now) != base);
	/* Each field of the tuple counts: 32 neighbours, 32 different ISNs. */
	uint32_t seen[32];
	for (int i = 0; i < 32; i++) {
		struct isn_tuple u = t;
		if (i < 8)
			u.local_port = (uint16_t)(t.local_port + i + 1);
		else if (i < 16)
			u.remote_port = (uint16_t)(t.remote_port + i);
		else if (i < 24)
			u.remote_ip = t.remote_ip + (uint32_t)i;
		else
			u.local_ip = t.local_ip + (uint32_t)i;
		seen[i] = tcp_isn(key, &u, now);
		CHECK(seen[i] != base);
		for (int j = 0; j < i; j++)
			CHECK(seen[j] != seen[i]);
	}
	/* Not the old counter: two ports in a row are far apart, not +1. */
	struct isn_tuple n1 = t, n2 = t;
	n2.local_port++;
	uint32_t d = tcp_isn(key, &n2, now) - tcp_isn(key, &n1, now);
	CHECK(d > 1000 && d < 0xffffffffu - 1000);
}

/* A user= line from an existing hako.cfg keeps working on BearSSL: this
 * key was computed by hako's own SHA-256/PBKDF2 before the change (and
 * agrees with Python's hashlib.pbkdf2_hmac). */
static void test_hash_compat(void)
{
	CHECK(auth_hash_check("pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$"
			      "c914cc4f06cc6e8f46d157e3a1b5aa7abceebb17bb0444cd4c4ac16ca2ae9864",
			      "correct horse") == 0);
	CHECK(auth_hash_check("pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$"
			      "c914cc4f06cc6e8f46d157e3a1b5aa7abceebb17bb0444cd4c4ac16ca2ae9864",
			      "correct horsE") < 0);
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
	RUN(test_drbg);
	RUN(test_isn);
	RUN(test_seed_sources);
	RUN(test_hash_compat);
	RUN(test_auth);
	RUN(test_iterations);
	RUN(test_auth_mutations);
	return check_done();
}
