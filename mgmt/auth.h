/*
 * mgmt/auth.h - network console users and their password hashes. Portable.
 *
 * A hash is "pbkdf2-sha256$ITERATIONS$SALT$KEY", SALT and KEY in lowercase
 * hex (16 and 32 bytes), KEY = PBKDF2-HMAC-SHA256(password, SALT,
 * ITERATIONS, 32) (RFC 8018 5.2). hako.cfg carries them as
 * `user=NAME:HASH` lines, made by tools/hako-passwd or the `passwd` verb.
 */
#ifndef HAKO_AUTH_H
#define HAKO_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "mgmt/cfg.h"

#define AUTH_SCHEME "pbkdf2-sha256"
#define AUTH_SALT_LEN 16
#define AUTH_KEY_LEN 32
/*
 * Iterations for new hashes (each hash keeps its own count, so older ones
 * with fewer stay valid). One iteration is two SHA-256 compressions; hako's
 * portable SHA-256 (net/crypto/sha256.c) takes about 700 cycles for one,
 * measured natively at -O2: 240-320 ns on a 2.6 GHz Xeon. 150,000 iterations
 * are then about 50 ms on a 4.5 GHz core of the 2020s and about 80 ms on
 * that Xeon; under QEMU TCG a login with them took about 0.3 s here (100,000
 * took 0.19 s), well inside the couple of seconds a login may take there.
 * tools/hako-passwd uses the same number (tests/static checks it).
 */
#define AUTH_ITERATIONS 150000
#define AUTH_ITERATIONS_MAX 1000000 /* refuse hashes that would stall the service core */
#define AUTH_HASH_MAX 128
#define AUTH_NAME_MAX 32
#define AUTH_USERS_MAX 8

/* Writes the hash of `pw` into out (AUTH_HASH_MAX bytes). Returns 0 or
 * -EINVAL for bad iterations. */
int auth_hash_make(char *out, size_t n, const char *pw, const uint8_t salt[AUTH_SALT_LEN],
		   uint32_t iterations);

/* 0 when `pw` matches `hash`; -EPERM when not; -EINVAL when the hash is
 * malformed. */
int auth_hash_check(const char *hash, const char *pw);

/* Checks a "NAME:HASH" value; 0 when usable. */
int auth_user_line_check(const char *line);

/* Loads the `user=` lines of `cfg`; returns how many were usable. Each bad
 * one is reported through `report`. */
unsigned auth_load(const struct cfg *cfg, void (*report)(const char *name, const char *why));

/* Adds or replaces a user's hash in memory. Returns 0, -EINVAL (bad name
 * or hash) or -ENOSPC. */
int auth_set(const char *name, const char *hash);

/* How many users have a password. */
unsigned auth_user_count(void);

/* 1 when `name` has a password. */
int auth_user_exists(const char *name);

/* 0 when `name` exists and `pw` is its password, else -EPERM. Spends the
 * same work for an unknown user, so timing does not reveal names. */
int auth_login(const char *name, const char *pw);

/*
 * 1 when `name` is an administrator. Every account of hako.cfg's `user=`
 * lines and of `passwd` is one today; roles (issue 16) will mark which.
 */
int auth_is_admin(const char *name);

/* 0 when `name` is 1-32 of [a-z0-9_-] starting with a letter. */
int auth_name_check(const char *name);

#endif
