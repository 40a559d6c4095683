/*
 * mgmt/gdb/gdb.h - a GDB remote-protocol server for a guest (`debug NAME`).
 *
 * One server per guest on the management address, at most GDB_SERVERS
 * at a time, one debugger connected to each. Only `allowed_ip` may
 * connect (the address of the network console session that issued
 * `debug`; 0: anyone, for the serial console), and the server closes
 * when that session ends, when the guest stops, or at `debug NAME off`.
 *
 * The protocol's packets (gdb_cmd.c) act through vmm/vcpu_debug.h: the
 * guest stops when the debugger connects, runs on `continue`, `step`
 * and `detach`, and stops again at a breakpoint, after a step or at
 * Ctrl-C; a debugger that goes away lets it run on.
 */
#ifndef HAKO_GDB_H
#define HAKO_GDB_H

#include <stddef.h>
#include <stdint.h>

#include "mgmt/gdb/rsp.h"
#include "mgmt/shell/shell.h"

struct vm;
struct tcp_pcb;

#define GDB_SERVERS 4
#define GDB_PORT_BASE 1234

/* A debugger's view of the guest (gdb_cmd.c). */
struct gdb_target {
	struct vm *vm;
	unsigned thread;  /* the vCPU `g`, `p` and `m` look at (Hg) */
	int running;      /* resumed: a stop reply is owed once every vCPU parked */
};

/* What gdb_packet() asks of the connection after its reply (if any). */
enum gdb_after { GDB_REPLY, GDB_NO_REPLY, GDB_REPLY_CLOSE, GDB_CLOSE };

/*
 * Answers one packet into reply[cap] (NUL-terminated, unframed). The
 * guest is stopped for everything but `?`, `c`, `s`, `vCont` and Ctrl-C;
 * a packet that needs it stopped while it runs is refused with E.
 */
enum gdb_after gdb_packet(struct gdb_target *t, const char *pkt, size_t len, char *reply,
			  size_t cap);
/* The stop reply once the guest stopped ("T05thread:1;"); 0 while it runs. */
int gdb_stop_reply(struct gdb_target *t, char *reply, size_t cap);

/*
 * `debug NAME [PORT]`: opens the server; `port` 0 picks GDB_PORT_BASE + the
 * guest's slot. 0, or -E... with a sentence in err.
 */
int gdb_server_open(struct vm *vm, uint16_t port, uint32_t allowed_ip, struct shell *owner,
		    uint16_t *port_out, char *err, size_t errlen);
/*
 * `debug NAME off`: closes it; the guest runs on. -ENOENT when none was
 * open, or when its guest stopped since the last poll (closed then too).
 */
int gdb_server_close(struct vm *vm);

#endif
