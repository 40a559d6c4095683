/*
 * mgmt/console/login_limit.h - how soon a network console login may be
 * tried again after failures, per source address and per account (issue
 * 17 finding 9). Portable: the console passes the time in.
 *
 * Every password check counts as a failure from the moment it starts
 * until it succeeds, so checks from parallel connections cannot all run
 * before the first result: the next check from that address waits
 * 1 s, 2 s, 4 s ... (at most LIMIT_ADDR_MAX_US) after the last one. An
 * account's failures from every address together slow it only after
 * LIMIT_ACCOUNT_FREE of them (a guesser spread over many addresses),
 * and less steeply, so that one guesser does not lock the account's
 * owner out from elsewhere. A success forgets both; so does quiet for
 * LIMIT_FORGET_US. The tables are small: when full, the entry least
 * recently failed makes room.
 */
#ifndef HAKO_LOGIN_LIMIT_H
#define HAKO_LOGIN_LIMIT_H

#include <stdint.h>

#define LIMIT_ADDRS 64
#define LIMIT_ACCOUNTS 16
#define LIMIT_NAME_MAX 32
#define LIMIT_ADDR_MAX_US (60 * 1000000ull)
#define LIMIT_ACCOUNT_FREE 10
#define LIMIT_ACCOUNT_MAX_US (30 * 1000000ull)
#define LIMIT_FORGET_US (15 * 60 * 1000000ull)

struct limit_entry {
	uint32_t fails;   /* checks since the last success, this one included */
	uint64_t last;    /* when the last check started */
	uint64_t next_ok; /* no check before this */
};

struct login_limit {
	struct {
		uint32_t addr; /* IPv4, host byte order */
		struct limit_entry e;
	} addrs[LIMIT_ADDRS];
	struct {
		char name[LIMIT_NAME_MAX + 1]; /* "" stands for every unknown name */
		struct limit_entry e;
	} accounts[LIMIT_ACCOUNTS];
};

/* The wait (us) after `fails` checks from one address, and for one account. */
uint64_t login_limit_addr_delay(uint32_t fails);
uint64_t login_limit_account_delay(uint32_t fails);

/* Microseconds until a check for `account` from `addr` may start; 0: now. */
uint64_t login_limit_wait(const struct login_limit *l, uint32_t addr, const char *account,
			  uint64_t now);
/*
 * A check starts (the caller waited login_limit_wait()): counts it as a
 * failure of the address and the account. Returns the address's count.
 */
uint32_t login_limit_attempt(struct login_limit *l, uint32_t addr, const char *account,
			     uint64_t now);
/* The check succeeded: forgets the address's and the account's failures. */
void login_limit_succeeded(struct login_limit *l, uint32_t addr, const char *account);

#endif
