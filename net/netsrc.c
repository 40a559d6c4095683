/*
 * net/netsrc.c - a one-shot TCP source for the network benchmark
 * (tests/bench_net.py; the shell verb `netsrc PORT SIZE` is in
 * mgmt/cmd_net.c): netsrc_start() listens on PORT; the first
 * client to connect receives SIZE bytes, then the connection and the
 * listener close and the log reports the rate. Runs from lwIP callbacks
 * and a poller on the service core, like everything in net/.
 */
#include "lwip/tcp.h"
#include "net/net.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

#define NETSRC_CHUNK 16384

static struct netsrc {
	struct tcp_pcb *listener, *conn;
	uint64_t size, queued, acked, started;
	int done;
} src;

/* Sent by reference (no copy): lwIP keeps pointers into it. */
static const uint8_t pattern[NETSRC_CHUNK];

static void netsrc_fill(void)
{
	while (src.conn && src.queued < src.size) {
		uint64_t left = src.size - src.queued;
		uint64_t n = left < NETSRC_CHUNK ? left : NETSRC_CHUNK;
		if (n > tcp_sndbuf(src.conn))
			n = tcp_sndbuf(src.conn);
		if (!n || tcp_sndqueuelen(src.conn) > TCP_SND_QUEUELEN - 8)
			break;
		if (tcp_write(src.conn, pattern, (u16_t)n, src.queued + n < src.size ? TCP_WRITE_FLAG_MORE : 0))
			break;
		src.queued += n;
	}
	if (src.conn)
		tcp_output(src.conn);
}

static err_t netsrc_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)arg, (void)pcb; /* one transfer at a time */
	src.acked += len;
	if (src.acked >= src.size)
		src.done = 1;
	else
		netsrc_fill();
	return ERR_OK;
}

static void netsrc_err(void *arg, err_t err)
{
	(void)arg; /* one transfer at a time */
	log_warn("netsrc: connection lost after %lu bytes (lwIP error %d)", src.acked, err);
	src.conn = 0;
	src.done = 0;
}

static err_t netsrc_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg, (void)err; /* the sink sends nothing we need */
	if (p) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
	}
	return ERR_OK;
}

static err_t netsrc_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb || src.conn)
		return ERR_VAL;
	src.conn = pcb;
	src.started = time_us();
	tcp_sent(pcb, netsrc_sent);
	tcp_err(pcb, netsrc_err);
	tcp_recv(pcb, netsrc_recv);
	tcp_close(src.listener); /* one client only */
	src.listener = 0;
	netsrc_fill();
	return ERR_OK;
}

static int netsrc_poll(void)
{
	if (!src.conn || !src.done)
		return src.conn != 0; /* a transfer in progress keeps the service core awake */
	uint64_t us = time_us() - src.started;
	log_info("netsrc: sent %lu bytes in %lu ms (%lu KiB/s)", src.acked, us / 1000,
		 us ? src.acked * 1000000 / 1024 / us : 0);
	tcp_sent(src.conn, 0);
	tcp_err(src.conn, 0);
	tcp_recv(src.conn, 0);
	if (tcp_close(src.conn) != ERR_OK)
		tcp_abort(src.conn);
	src.conn = 0;
	src.done = 0;
	return 1;
}
SERVICE_POLLER(netsrc, netsrc_poll);

/*
 * Listens on `port` for one client, which then receives `size` bytes.
 * 0, -EBUSY (a transfer waits or runs), -ENETDOWN, -EADDRINUSE, -ENOMEM.
 */
int netsrc_start(uint16_t port, uint64_t size)
{
	struct net_status st;
	net_get_status(&st);
	if (!st.configured)
		return -ENETDOWN;
	if (src.listener || src.conn)
		return -EBUSY;
	struct tcp_pcb *pcb = tcp_new();
	if (!pcb)
		return -ENOMEM;
	if (tcp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
		tcp_abort(pcb);
		return -EADDRINUSE;
	}
	src.listener = tcp_listen(pcb);
	if (!src.listener)
		return -ENOMEM;
	src.size = size, src.queued = src.acked = 0, src.done = 0;
	tcp_accept(src.listener, netsrc_accept);
	return 0;
}
