/*
 * mgmt/console/slots.h - who gets a network console session slot (issue
 * 17 finding 9). Portable: the console describes its slots, these
 * functions decide.
 *
 * Clients at the login prompt and logged-in shells are counted apart: at
 * most `logins` of the first, `shells` of the second, of which `reserved`
 * only an administrator may take. Clients that connect and never log in
 * cannot lock anyone out: when the login slots are full, a new client
 * takes the place of one that is waiting, chosen from the address that
 * holds the most of them, preferring those that sent nothing, then those
 * held back after failed logins, each time the oldest. A client is
 * refused at once only when every shell slot is taken, since no login
 * could succeed.
 */
#ifndef HAKO_SLOTS_H
#define HAKO_SLOTS_H

#include <stdint.h>

enum slot_state {
	SLOT_FREE,
	SLOT_LOGIN, /* connected, not logged in yet */
	SLOT_SHELL, /* logged in */
	SLOT_GOING, /* ending: neither free nor counted */
};

struct slot_view {
	enum slot_state state;
	uint32_t addr;  /* the client's IPv4 address */
	int admin;      /* SLOT_SHELL: an administrator's session */
	int typed;      /* SLOT_LOGIN: the client sent something */
	int held;       /* SLOT_LOGIN: waiting after failed logins */
	uint64_t since; /* SLOT_LOGIN: when it connected */
};

struct slot_limits {
	unsigned shells;   /* logged-in sessions at most */
	unsigned reserved; /* of them, kept for administrators */
	unsigned logins;   /* clients at the login prompt at most */
};

/*
 * A new client from `addr`: returns the free slot to give it, with
 * *evict the login slot to end for it (or -1); -ENOSPC when every shell
 * slot is taken, -EBUSY when no slot is free (too many still ending).
 */
int slots_admit(const struct slot_view *v, unsigned n, const struct slot_limits *lim,
		uint32_t addr, int *evict);

/*
 * A login succeeded: 0 when it may open a shell; -ENOSPC when the shells
 * are full, -EPERM when only the administrators' reserve is left and
 * `admin` is 0.
 */
int slots_open_shell(const struct slot_view *v, unsigned n, const struct slot_limits *lim,
		     int admin);

#endif
