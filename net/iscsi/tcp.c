/*
 * net/iscsi/tcp.c - iSCSI over lwIP's raw TCP API (NO_SYS, service core).
 *
 * lwIP calls back from inside net_poll(); the session may end the
 * connection from inside those callbacks (a malformed PDU), so close()
 * detaches the pcb at once and the receive callback then reports
 * ERR_ABRT when it had to abort. Errors lwIP reports through tcp_err
 * (the pcb is already freed then) are handed to the session from the
 * next wait/poll, outside lwIP. Received data is fed to the session and
 * acknowledged at once (tcp_recved), which keeps the window open: QEMU's
 * slirp stalls 5 s on a zero window (TESTING.md).
 *
 * A target named by host name is looked up first with lwIP's DNS client
 * (RFC 1035; the server comes from the DHCP lease or hako.cfg `dns=`, see
 * net/netif.c), without waiting: the connect goes on in the lookup's
 * callback. A name that does not resolve ends the connection attempt
 * with -EHOSTUNREACH and a sentence naming the host.
 *
 * Closing a session politely (iscsi_tcp_logout_free) sends a Logout
 * Request (RFC 7143 11.14, reason 0: close the session) and leaves the
 * session on a linger list, which a service poller drives until the
 * Logout Response arrives or LINGER_US passes; then the TCP connection
 * closes and the memory goes. Nobody waits for it.
 */
#include "net/iscsi/tcp.h"

#include "lwip/dns.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "net/crypto/rng.h"
#include "net/net.h"
#include "vmm/core/cpu.h"
#include "vmm/core/lib/buddy.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

struct iscsi_tcp {
	struct iscsi_session s; /* first: the session's ctx is this struct */
	struct tcp_pcb *pcb;
	int in_callback, aborted_in_callback;
	int err_pending, up_pending;
	char err_why[96]; /* with err_pending: what to tell the session */
	uint16_t port;
	int lookup; /* slot in lookups[] + 1 while a host name is looked up */
	struct iscsi_tcp *linger_next; /* logging out, on the linger list */
	uint64_t linger_until;
};

/* A target that does not answer a Logout within this just sees the TCP close. */
#define LINGER_US (2 * 1000000ull)

static struct iscsi_tcp *lingering;

static void tcp_detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, 0);
	tcp_recv(pcb, 0);
	tcp_err(pcb, 0);
	tcp_sent(pcb, 0);
}

/*
 * Lookups in flight. lwIP's DNS client cannot forget a callback, so its
 * argument is a slot here with a generation: a session that closes (or
 * is freed) while its name is looked up clears its slot, and an answer
 * for a slot since reused is recognised by the generation and ignored.
 */
#define LOOKUPS 8
static struct lookup {
	struct iscsi_tcp *t;
	uint32_t gen;
} lookups[LOOKUPS];
static uint32_t lookup_gen;

static void lookup_forget(struct iscsi_tcp *t)
{
	if (t->lookup)
		lookups[t->lookup - 1].t = 0;
	t->lookup = 0;
}

static void t_close(void *ctx)
{
	struct iscsi_tcp *t = ctx;
	lookup_forget(t);
	struct tcp_pcb *pcb = t->pcb;
	if (!pcb)
		return;
	t->pcb = 0;
	t->up_pending = 0;
	tcp_detach(pcb);
	if (tcp_close(pcb) == ERR_OK)
		return;
	tcp_abort(pcb);
	if (t->in_callback)
		t->aborted_in_callback = 1;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct iscsi_tcp *t = arg;
	(void)err;
	if (!p) {
		t_close(t);
		t->err_pending = -EIO;
		return ERR_OK;
	}
	t->in_callback = 1;
	for (struct pbuf *q = p; q && t->pcb == pcb; q = q->next)
		iscsi_feed(&t->s, q->payload, q->len);
	t->in_callback = 0;
	if (t->pcb == pcb)
		tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	if (t->aborted_in_callback) {
		t->aborted_in_callback = 0;
		return ERR_ABRT;
	}
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct iscsi_tcp *t = arg;
	t->pcb = 0; /* lwIP freed it */
	t->err_pending = err == ERR_RST ? -ECONNREFUSED : -EIO;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct iscsi_tcp *t = arg;
	(void)pcb, (void)err;
	t->up_pending = 1; /* handled outside lwIP, in the next poll */
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb, (void)len;
	iscsi_tx_flush(&((struct iscsi_tcp *)arg)->s);
	return ERR_OK;
}

/* The connection fails outside lwIP's callbacks, in the next tcp_events(). */
static void fail_later(struct iscsi_tcp *t, int err, const char *fmt, const char *host)
{
	t->err_pending = err;
	fmt_snprintf(t->err_why, sizeof(t->err_why), fmt, host);
}

/* Opens the TCP connection to an address; 0 or -E. */
static int connect_ip(struct iscsi_tcp *t, const ip_addr_t *ip)
{
	t->pcb = tcp_new();
	if (!t->pcb)
		return -ENOMEM;
	tcp_arg(t->pcb, t);
	tcp_recv(t->pcb, on_recv);
	tcp_err(t->pcb, on_err);
	tcp_sent(t->pcb, on_sent);
	tcp_nagle_disable(t->pcb);
	if (tcp_connect(t->pcb, ip, t->port, on_connected) != ERR_OK) {
		t_close(t);
		return -ECONNREFUSED;
	}
	return 0;
}

/* lwIP's DNS client answers (from inside net_poll, or at once). */
static void on_lookup(const char *name, const ip_addr_t *ip, void *arg)
{
	struct lookup *l = &lookups[((uintptr_t)arg & 0xff) % LOOKUPS];
	struct iscsi_tcp *t = l->t;
	if (!t || l->gen != (uint32_t)((uintptr_t)arg >> 8))
		return; /* its session closed meanwhile */
	l->t = 0;
	t->lookup = 0;
	if (!ip) {
		fail_later(t, -EHOSTUNREACH, "cannot resolve host '%s' (no such name, or no answer "
			   "from the DNS server)", name);
		return;
	}
	char a[16];
	net_ip_str(ip4_addr_get_u32(ip_2_ip4(ip)), a, sizeof(a));
	log_dbg("iscsi: %s is %s", name, a);
	int err = connect_ip(t, ip);
	if (err)
		fail_later(t, err, "cannot connect to %s", name);
}

/* Starts a lookup of `host`; the connect follows in on_lookup(). 0 or -E. */
static int lookup(struct iscsi_tcp *t, const char *host)
{
	struct netif *nif = netif_default;
	if (!nif || ip4_addr_isany_val(*netif_ip4_addr(nif))) {
		/* no lease yet: a transient failure, the session tries again */
		fail_later(t, -ENETDOWN, "no network address yet to look up '%s'", host);
		return 0;
	}
	if (ip_addr_isany(dns_getserver(0))) {
		fail_later(t, -EHOSTUNREACH, "cannot resolve host '%s': no DNS server (set dns= in "
			   "hako.cfg, or get one by DHCP)", host);
		return 0;
	}
	unsigned i = 0;
	while (i < LOOKUPS && lookups[i].t)
		i++;
	if (i == LOOKUPS)
		return -EAGAIN;
	uint32_t gen = ++lookup_gen & 0xffffff;
	lookups[i] = (struct lookup){ t, gen };
	t->lookup = (int)i + 1;
	ip_addr_t ip;
	/* the callback may run inside this call (no server after all) */
	err_t e = dns_gethostbyname(host, &ip, on_lookup, (void *)(uintptr_t)(gen << 8 | i));
	if (e == ERR_INPROGRESS)
		return 0;
	lookup_forget(t);
	if (e != ERR_OK) {
		fail_later(t, -EHOSTUNREACH, "cannot resolve host '%s' (not a valid name)", host);
		return 0;
	}
	return connect_ip(t, &ip); /* cached, or a dotted address after all */
}

static int t_connect(void *ctx, const char *host, uint16_t port)
{
	struct iscsi_tcp *t = ctx;
	ip_addr_t ip;
	t->port = port;
	if (ipaddr_aton(host, &ip))
		return connect_ip(t, &ip);
	return lookup(t, host);
}

static long t_send(void *ctx, const void *buf, size_t n)
{
	struct iscsi_tcp *t = ctx;
	if (!t->pcb || t->up_pending || t->pcb->state != ESTABLISHED)
		return 0;
	size_t room = tcp_sndbuf(t->pcb);
	if (n > room)
		n = room;
	if (n > 0xffff)
		n = 0xffff;
	if (!n)
		return 0;
	err_t e = tcp_write(t->pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
	if (e == ERR_MEM)
		return 0;
	if (e != ERR_OK)
		return -EIO;
	net_tx_hold(); /* the segments of one write leave with one doorbell */
	tcp_output(t->pcb);
	net_tx_release();
	return (long)n;
}

static uint64_t t_now(void *ctx)
{
	(void)ctx;
	return time_us();
}

/* CHAP challenges and ISIDs, from hako's DRBG (net/crypto/rng.c): a
 * challenge a target could predict would let it replay a response. */
static void t_random(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	rng_bytes(buf, n);
}

static uint64_t t_stamp(void *ctx)
{
	(void)ctx;
	return rdtsc();
}

static const struct iscsi_transport_ops tcp_ops = { t_connect, t_send, t_close, t_now, t_random,
						    t_stamp };

/* Transport events that lwIP reported from inside its callbacks. */
static void tcp_events(struct iscsi_tcp *t)
{
	if (t->up_pending) {
		t->up_pending = 0;
		iscsi_conn_up(&t->s);
	}
	if (t->err_pending) {
		int err = t->err_pending;
		t->err_pending = 0;
		iscsi_conn_down(&t->s, err, t->err_why[0] ? t->err_why :
					    err == -ECONNREFUSED ? "connection refused or reset" :
								   "target closed the connection");
		t->err_why[0] = 0;
	}
}

/* Host-wide settings (boot gives hako.cfg's initiator= and iscsi_timeout=). */
static char default_initiator[ISCSI_NAME_MAX] = "iqn.2026-11.org.hako:hako";
static uint64_t default_timeout_us;

void iscsi_tcp_configure(const char *initiator, uint64_t task_timeout_us)
{
	if (initiator)
		fmt_snprintf(default_initiator, sizeof(default_initiator), "%s", initiator);
	default_timeout_us = task_timeout_us;
}

/* A zeroed session + transport from the page allocator, connecting; 0 or -E. */
static int tcp_open(const struct iscsi_config *cfg, struct iscsi_session **out)
{
	unsigned order = buddy_order_for(sizeof(struct iscsi_tcp));
	struct iscsi_tcp *t = (struct iscsi_tcp *)page_alloc(order, PAGE_HAKO);
	if (!t)
		return -ENOMEM; /* zeroed */
	int err = iscsi_session_start(&t->s, cfg, &tcp_ops, t);
	if (err) {
		page_free((uint64_t)t, order, PAGE_HAKO);
		return err;
	}
	*out = &t->s;
	return 0;
}

/*
 * iscsi_open_url - starts a session to what `u` names (iscsi_url_parse):
 * the target u->target at u->host:u->port with u's CHAP accounts (mutual
 * when it names the target's) and digests, or a
 * SendTargets discovery session when u->target is empty. The host-wide
 * initiator name and task timeout (iscsi_tcp_configure) complete it.
 * Returns 0 with *out connecting (follow it with iscsi_poll() through
 * iscsi_tcp_poll(), end it with iscsi_tcp_free() or
 * iscsi_tcp_logout_free()), or -EINVAL/-ENOMEM.
 */
int iscsi_open_url(const struct iscsi_url *u, struct iscsi_session **out)
{
	static struct iscsi_config cfg; /* 1.2 KiB: not on the stack; service core only */
	memset(&cfg, 0, sizeof(cfg));
	fmt_snprintf(cfg.initiator, sizeof(cfg.initiator), "%s", default_initiator);
	if (default_timeout_us)
		cfg.task_timeout_us = default_timeout_us;
	fmt_snprintf(cfg.host, sizeof(cfg.host), "%s", u->host);
	cfg.port = u->port;
	fmt_snprintf(cfg.target, sizeof(cfg.target), "%s", u->target);
	fmt_snprintf(cfg.user, sizeof(cfg.user), "%s", u->user);
	fmt_snprintf(cfg.secret, sizeof(cfg.secret), "%s", u->secret);
	fmt_snprintf(cfg.target_user, sizeof(cfg.target_user), "%s", u->target_user);
	fmt_snprintf(cfg.target_secret, sizeof(cfg.target_secret), "%s", u->target_secret);
	cfg.header_digest = u->header_digest;
	cfg.data_digest = u->data_digest;
	return tcp_open(&cfg, out);
}

/* Closes the connection (no logout) and frees the session. */
void iscsi_tcp_free(struct iscsi_session *s)
{
	struct iscsi_tcp *t = (struct iscsi_tcp *)s;
	t_close(t);
	page_free((uint64_t)t, buddy_order_for(sizeof(struct iscsi_tcp)), PAGE_HAKO);
}

/*
 * iscsi_tcp_logout_free - logs out and frees the session in the
 * background: at once when it is not logged in, otherwise after the
 * Logout Response or LINGER_US. Tasks still in flight fail with
 * -ECANCELED. The caller must not touch `s` afterwards.
 */
void iscsi_tcp_logout_free(struct iscsi_session *s)
{
	struct iscsi_tcp *t = (struct iscsi_tcp *)s;
	iscsi_abort_all(s, -ECANCELED, "session closed");
	iscsi_logout(s);
	if (s->state != ISCSI_S_LOGOUT && !s->logout_wanted) {
		iscsi_tcp_free(s);
		return;
	}
	t->linger_until = time_us() + LINGER_US;
	t->linger_next = lingering;
	lingering = t;
}

/* Drives the sessions that are logging out; frees the finished ones. Busy while any linger. */
static int linger_poll(void)
{
	for (struct iscsi_tcp **pp = &lingering; *pp;) {
		struct iscsi_tcp *t = *pp;
		tcp_events(t);
		iscsi_poll(&t->s);
		int st = t->s.state;
		if (st == ISCSI_S_LOGOUT || (st == ISCSI_S_FULL && t->s.logout_wanted)) {
			if (time_us() < t->linger_until) {
				pp = &t->linger_next;
				continue;
			}
			log_info("iscsi %s: no logout response; closing the connection",
				 t->s.cfg.target[0] ? t->s.cfg.target : t->s.cfg.host);
		}
		*pp = t->linger_next;
		iscsi_tcp_free(&t->s);
	}
	return lingering != 0;
}
SERVICE_POLLER(iscsi_linger, linger_poll);

/* Transport events, then iscsi_poll(); for sessions polled by a poller. */
void iscsi_tcp_poll(struct iscsi_session *s)
{
	tcp_events((struct iscsi_tcp *)s);
	iscsi_poll(s);
}
