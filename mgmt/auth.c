/*
 * mgmt/auth.c - password hashes and the in-memory user table. Portable.
 * Hashes are PBKDF2-HMAC-SHA256 (RFC 8018 5.2), see auth.h for the format
 * and for why AUTH_ITERATIONS is what it is.
 */
#include "mgmt/auth.h"

#include "net/crypto/sha256.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

struct auth_user {
	char name[AUTH_NAME_MAX + 1];
	char hash[AUTH_HASH_MAX];
	int admin; /* every user today; roles (issue 16) will set it per user */
};

static struct auth_user users[AUTH_USERS_MAX];
static unsigned user_count;

static struct auth_user *find_user(const char *name)
{
	for (unsigned i = 0; i < user_count; i++)
		if (!strcmp(users[i].name, name))
			return &users[i];
	return 0;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* Parses exactly 2*n hex digits ending at a '$' or the string's end. */
static int unhex(const char *s, uint8_t *b, size_t n, const char **end)
{
	for (size_t i = 0; i < 2 * n; i++) {
		int d = fmt_hexdigit(s[i]);
		if (d < 0)
			return -EINVAL;
		b[i / 2] = (uint8_t)(i % 2 ? b[i / 2] << 4 | d : d);
	}
	*end = s + 2 * n;
	return 0;
}

int auth_hash_make(char *out, size_t n, const char *pw, const uint8_t salt[AUTH_SALT_LEN],
		   uint32_t iterations)
{
	if (!iterations || iterations > AUTH_ITERATIONS_MAX)
		return -EINVAL;
	uint8_t key[AUTH_KEY_LEN];
	char salt_hex[2 * AUTH_SALT_LEN + 1], key_hex[2 * AUTH_KEY_LEN + 1];
	pbkdf2_hmac_sha256(pw, strlen(pw), salt, AUTH_SALT_LEN, iterations, key, sizeof(key));
	hex(salt_hex, salt, AUTH_SALT_LEN);
	hex(key_hex, key, AUTH_KEY_LEN);
	memset(key, 0, sizeof(key));
	int len = fmt_snprintf(out, n, "%s$%u$%s$%s", AUTH_SCHEME, iterations, salt_hex, key_hex);
	return len < (int)n ? 0 : -ENOSPC;
}

struct parsed_hash {
	uint32_t iterations;
	uint8_t salt[AUTH_SALT_LEN];
	uint8_t key[AUTH_KEY_LEN];
};

static int parse_hash(const char *h, struct parsed_hash *p)
{
	size_t sl = strlen(AUTH_SCHEME);
	if (strncmp(h, AUTH_SCHEME, sl) || h[sl] != '$')
		return -EINVAL;
	const char *s = h + sl + 1;
	uint64_t it = 0;
	if (*s < '1' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9' && it <= AUTH_ITERATIONS_MAX)
		it = it * 10 + (uint64_t)(*s++ - '0');
	if (it > AUTH_ITERATIONS_MAX || *s++ != '$')
		return -EINVAL;
	p->iterations = (uint32_t)it;
	if (unhex(s, p->salt, AUTH_SALT_LEN, &s) || *s++ != '$')
		return -EINVAL;
	if (unhex(s, p->key, AUTH_KEY_LEN, &s) || *s)
		return -EINVAL;
	return 0;
}

int auth_hash_check(const char *hash, const char *pw)
{
	struct parsed_hash p;
	if (parse_hash(hash, &p))
		return -EINVAL;
	uint8_t key[AUTH_KEY_LEN];
	pbkdf2_hmac_sha256(pw, strlen(pw), p.salt, AUTH_SALT_LEN, p.iterations, key, sizeof(key));
	int diff = crypto_memeq(key, p.key, AUTH_KEY_LEN);
	memset(key, 0, sizeof(key));
	return diff ? -EPERM : 0;
}

int auth_name_check(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > AUTH_NAME_MAX || name[0] < 'a' || name[0] > 'z')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

/* Splits "NAME:HASH" into name (AUTH_NAME_MAX + 1 bytes) and a hash pointer. */
static int split_line(const char *line, char *name, const char **hash)
{
	const char *colon = strchr(line, ':');
	if (!colon || colon == line || (size_t)(colon - line) > AUTH_NAME_MAX)
		return -EINVAL;
	memcpy(name, line, colon - line);
	name[colon - line] = 0;
	*hash = colon + 1;
	return 0;
}

int auth_user_line_check(const char *line)
{
	char name[AUTH_NAME_MAX + 1];
	const char *hash;
	struct parsed_hash p;
	if (split_line(line, name, &hash) || auth_name_check(name))
		return -EINVAL;
	return parse_hash(hash, &p);
}

int auth_set(const char *name, const char *hash)
{
	struct parsed_hash p;
	if (auth_name_check(name) || parse_hash(hash, &p) || strlen(hash) >= AUTH_HASH_MAX)
		return -EINVAL;
	struct auth_user *u = find_user(name);
	if (!u) {
		if (user_count == AUTH_USERS_MAX)
			return -ENOSPC;
		u = &users[user_count++];
		memcpy(u->name, name, strlen(name) + 1);
		u->admin = 1;
	}
	memcpy(u->hash, hash, strlen(hash) + 1);
	return 0;
}

unsigned auth_load(const struct cfg *cfg, void (*report)(const char *name, const char *why))
{
	unsigned good = 0;
	const char *line;
	for (unsigned i = 0; (line = cfg_get_nth(cfg, "user", i)); i++) {
		char name[AUTH_NAME_MAX + 1] = "?";
		const char *hash;
		int err = split_line(line, name, &hash);
		if (!err)
			err = auth_set(name, hash);
		if (!err)
			good++;
		else if (report)
			report(name, err == -ENOSPC ? "too many users" :
				     "expected NAME:pbkdf2-sha256$ITER$SALT$KEY (tools/hako-passwd)");
	}
	return good;
}

unsigned auth_user_count(void)
{
	return user_count;
}

/*
 * An unknown name costs what a known one does: PBKDF2 with the iteration
 * count of the first user's hash (or the default), over a fixed salt.
 */
static void decoy_check(const char *pw)
{
	struct parsed_hash p = { AUTH_ITERATIONS, { 0 }, { 0 } };
	if (user_count)
		(void)parse_hash(users[0].hash, &p); /* auth_set() checked it */
	uint8_t key[AUTH_KEY_LEN];
	pbkdf2_hmac_sha256(pw, strlen(pw), p.salt, AUTH_SALT_LEN, p.iterations, key, sizeof(key));
	memset(key, 0, sizeof(key));
}

int auth_login(const char *name, const char *pw)
{
	const struct auth_user *u = find_user(name);
	if (u)
		return auth_hash_check(u->hash, pw) ? -EPERM : 0;
	decoy_check(pw);
	return -EPERM;
}

int auth_is_admin(const char *name)
{
	const struct auth_user *u = find_user(name);
	return u && u->admin;
}

int auth_user_exists(const char *name)
{
	return find_user(name) != 0;
}
