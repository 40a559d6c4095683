/*
 * mgmt/gdb/gdb_server.c - the TCP side of `debug NAME` (mgmt/gdb/gdb.h):
 * an lwIP listener per guest on the management address, one connection
 * at a time, and a service poller that sends the stop reply once the
 * guest's vCPUs have parked and closes what should close.
 *
 * All on the service core: lwIP callbacks parse packets and answer at
 * once (registers and memory are read from the parked vCPUs' copies and
 * guest memory, never waited for); a reply that does not fit lwIP's send
 * buffer waits in `out` and goes in on_sent(). A debugger that sends
 * faster than it reads, or whose packet would overflow `out`, is cut off.
 */
#include "mgmt/gdb/gdb.h"

#include "lwip/tcp.h"
#include "net/net.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"
#include "vmm/vcpu_debug.h"
#include "vmm/vm.h"

#define OUT_MAX (2 * RSP_MAX + 64)
#define KICK_AGAIN_US 10000

struct gdb_server {
	struct vm *vm;              /* 0: a free slot */
	char name[VM_NAME_MAX + 1]; /* the guest it serves (a slot may be reused) */
	uint16_t port;
	uint32_t allowed_ip;        /* host order; 0: any */
	struct shell_ref owner;
	int owner_serial;           /* issued from the serial console, which never ends */
	struct tcp_pcb *listener, *conn;
	struct gdb_target t;
	struct rsp_rx rx;
	char reply[RSP_MAX + 1];
	char out[OUT_MAX];
	size_t out_len;
	uint64_t kicked_us;         /* the last kick of a stop under way */
};

static struct gdb_server servers[GDB_SERVERS];

static struct gdb_server *server_of(const struct vm *vm)
{
	for (unsigned i = 0; i < GDB_SERVERS; i++)
		if (servers[i].vm == vm && servers[i].vm && !strcmp(vm->def.name, servers[i].name))
			return &servers[i];
	return 0;
}

/* ---- output ---- */

static void flush(struct gdb_server *s)
{
	if (!s->conn || !s->out_len)
		return;
	size_t n = s->out_len, room = tcp_sndbuf(s->conn);
	if (n > room)
		n = room;
	if (!n || tcp_write(s->conn, s->out, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
		return;
	memmove(s->out, s->out + n, s->out_len - n);
	s->out_len -= n;
	tcp_output(s->conn);
}

static int send_raw(struct gdb_server *s, const char *data, size_t n)
{
	if (s->out_len + n > OUT_MAX)
		return -ENOSPC;
	memcpy(s->out + s->out_len, data, n);
	s->out_len += n;
	flush(s);
	return 0;
}

static int send_packet(struct gdb_server *s, const char *payload)
{
	char framed[OUT_MAX];
	size_t n = rsp_frame(payload, strlen(payload), framed, sizeof(framed));
	return n ? send_raw(s, framed, n) : -ENOSPC;
}

/* ---- the connection ---- */

static void conn_drop(struct gdb_server *s, const char *why)
{
	struct tcp_pcb *pcb = s->conn;
	if (!pcb)
		return;
	s->conn = 0;
	tcp_arg(pcb, 0);
	tcp_recv(pcb, 0);
	tcp_sent(pcb, 0);
	tcp_err(pcb, 0);
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
	s->out_len = 0;
	s->t.running = 0;
	vcpu_debug_detach(s->vm); /* the guest runs on */
	log_info("debug: guest %s: debugger %s", s->name, why);
}

static void on_packet(struct gdb_server *s)
{
	send_raw(s, "+", 1);
	enum gdb_after a = gdb_packet(&s->t, s->rx.buf, s->rx.len, s->reply, sizeof(s->reply));
	if ((a == GDB_REPLY || a == GDB_REPLY_CLOSE) && send_packet(s, s->reply)) {
		conn_drop(s, "reads too slowly: disconnected");
		return;
	}
	if (a == GDB_REPLY_CLOSE || a == GDB_CLOSE)
		conn_drop(s, a == GDB_CLOSE ? "killed the session (the guest runs on)" : "detached");
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct gdb_server *s = arg;
	(void)err;
	if (!p) {
		if (s && s->conn == pcb)
			conn_drop(s, "closed the connection");
		return ERR_OK;
	}
	if (!s || s->conn != pcb) {
		pbuf_free(p);
		return ERR_OK;
	}
	tcp_recved(pcb, p->tot_len);
	for (struct pbuf *q = p; q && s->conn == pcb; q = q->next) {
		for (u16_t i = 0; i < q->len && s->conn == pcb; i++) {
			enum rsp_event ev = rsp_rx_byte(&s->rx, ((uint8_t *)q->payload)[i]);
			if (ev == RSP_PACKET)
				on_packet(s);
			else if (ev == RSP_BAD)
				send_raw(s, "-", 1);
			else if (ev == RSP_INTERRUPT)
				vcpu_debug_stop_all(s->vm, DBG_STOP_INTERRUPT);
		}
	}
	pbuf_free(p);
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct gdb_server *s = arg;
	(void)len;
	if (s && s->conn == pcb)
		flush(s);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct gdb_server *s = arg;
	(void)err;
	if (!s || !s->conn)
		return;
	s->conn = 0; /* lwIP freed the PCB */
	s->out_len = 0;
	s->t.running = 0;
	vcpu_debug_detach(s->vm);
	log_info("debug: guest %s: the debugger's connection broke (the guest runs on)", s->name);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct gdb_server *s = arg;
	char ip[16];
	if (err != ERR_OK || !pcb || !s || !s->vm)
		return ERR_VAL;
	uint32_t from = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
	net_ip_str(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), ip, sizeof(ip));
	if ((s->allowed_ip && from != s->allowed_ip) || s->conn) {
		log_warn("debug: guest %s: refused a debugger from %s (%s)", s->name, ip,
			 s->conn ? "one is connected" : "not the address that asked for it");
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	if (vcpu_debug_attach(s->vm)) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	s->conn = pcb;
	s->out_len = 0;
	s->t = (struct gdb_target){ s->vm, 0, 0 };
	rsp_rx_init(&s->rx);
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
	vcpu_debug_stop_all(s->vm, DBG_STOP_INTERRUPT); /* a debugger finds the guest stopped */
	log_info("debug: guest %s: debugger connected from %s", s->name, ip);
	return ERR_OK;
}

/* ---- opening and closing ---- */

static void server_close(struct gdb_server *s, const char *why)
{
	if (s->conn) {
		send_packet(s, "X09"); /* the process (guest) is gone or no longer debuggable */
		conn_drop(s, why);
	}
	if (s->listener)
		tcp_close(s->listener);
	log_info("debug: guest %s: port %u closed (%s)", s->name, s->port, why);
	memset(s, 0, sizeof(*s));
}

/* Its guest stopped (or another took its slot): the server outlived it. */
static int server_stale(const struct gdb_server *s)
{
	return !s->vm->defined || strcmp(s->vm->def.name, s->name) || s->vm->state != VM_RUNNING;
}

/*
 * `debug NAME off`. A server whose guest stopped since the last poll (a
 * `destroy` just before) is closed as the poller would, and counts as none.
 */
int gdb_server_close(struct vm *vm)
{
	struct gdb_server *s = server_of(vm);
	if (!s)
		return -ENOENT;
	if (server_stale(s)) {
		server_close(s, "the guest stopped");
		return -ENOENT;
	}
	server_close(s, "debug off");
	return 0;
}

static int port_taken(uint16_t port)
{
	for (unsigned i = 0; i < GDB_SERVERS; i++)
		if (servers[i].vm && servers[i].port == port)
			return 1;
	return 0;
}

int gdb_server_open(struct vm *vm, uint16_t port, uint32_t allowed_ip, struct shell *owner,
		    uint16_t *port_out, char *err, size_t errlen)
{
	struct gdb_server *s = 0;
	if (server_of(vm)) {
		fmt_snprintf(err, errlen, "guest '%s' has a debug server already; `debug %s off` "
			     "closes it", vm->def.name, vm->def.name);
		return -EEXIST;
	}
	for (unsigned i = 0; i < GDB_SERVERS && !s; i++)
		if (!servers[i].vm)
			s = &servers[i];
	if (!s) {
		fmt_snprintf(err, errlen, "at most %u guests can be debugged at a time", GDB_SERVERS);
		return -ENOSPC;
	}
	if (!port)
		port = (uint16_t)(GDB_PORT_BASE + (vm - vms));
	struct tcp_pcb *pcb = port_taken(port) ? 0 : tcp_new();
	if (!pcb || tcp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
		if (pcb)
			tcp_abort(pcb);
		fmt_snprintf(err, errlen, "port %u is in use", port);
		return -EADDRINUSE;
	}
	struct tcp_pcb *l = tcp_listen(pcb);
	if (!l) {
		tcp_abort(pcb);
		fmt_snprintf(err, errlen, "no room for another listening port in the network stack");
		return -ENOMEM;
	}
	memset(s, 0, sizeof(*s));
	s->vm = vm;
	fmt_snprintf(s->name, sizeof(s->name), "%s", vm->def.name);
	s->port = port;
	s->allowed_ip = allowed_ip;
	s->owner = shell_ref(owner);
	s->owner_serial = !owner->remote;
	s->listener = l;
	tcp_arg(l, s);
	tcp_accept(l, on_accept);
	*port_out = port;
	return 0;
}

/* ---- the poller ---- */

static int server_poll(struct gdb_server *s)
{
	if (!s->owner_serial && !shell_deref(s->owner)) {
		server_close(s, "the session that opened it ended");
		return 1;
	}
	if (server_stale(s)) {
		server_close(s, "the guest stopped");
		return 1;
	}
	if (s->conn && s->t.running && gdb_stop_reply(&s->t, s->reply, sizeof(s->reply))) {
		s->t.running = 0;
		if (send_packet(s, s->reply))
			conn_drop(s, "reads too slowly: disconnected");
		return 1;
	}
	/* keep polling while a stop is under way, not while the guest runs */
	if (!s->conn || !s->t.running || !s->vm->debug || !s->vm->debug->stop_req)
		return 0;
	uint64_t now = time_us();
	if (now - s->kicked_us > KICK_AGAIN_US) { /* a kick that found its vCPU in hako */
		s->kicked_us = now;
		vcpu_debug_kick(s->vm);
	}
	return 1;
}

static int gdb_poll(void)
{
	int busy = 0;
	for (unsigned i = 0; i < GDB_SERVERS; i++)
		if (servers[i].vm)
			busy |= server_poll(&servers[i]);
	return busy;
}
SERVICE_POLLER(gdb, gdb_poll);
