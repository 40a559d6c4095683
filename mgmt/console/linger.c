/*
 * mgmt/console/linger.c - lingering close for the network console's
 * connections (see linger.h). Runs on the service core: lwIP callbacks
 * and its own poller.
 */
#include "mgmt/console/linger.h"

#include "lwip/tcp.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

#define LINGER_MAX 16
#define LINGER_US (3 * 1000000ull)

static struct linger {
	struct tcp_pcb *pcb; /* 0: a free entry */
	uint64_t reset_at;
} lingering[LINGER_MAX];

/* Stops tracking: lwIP freed the PCB, or will once its close completes. */
static void forget(struct linger *l)
{
	l->pcb = 0;
}

static void on_linger_err(void *arg, err_t err)
{
	(void)err; /* gone whatever the reason */
	forget(arg);
}

static err_t on_linger_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)err; /* ERR_OK in lwIP 2.1 */
	if (p) { /* nobody reads it any more */
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	/* The peer closed too: lwIP finishes the close and frees the PCB. */
	forget(arg);
	tcp_arg(pcb, 0);
	tcp_recv(pcb, 0);
	tcp_err(pcb, 0);
	tcp_close(pcb); /* in TIME-WAIT or CLOSING already: it cannot fail */
	return ERR_OK;
}

static void drop_callbacks(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, 0);
	tcp_recv(pcb, 0);
	tcp_sent(pcb, 0);
	tcp_err(pcb, 0);
}

/*
 * linger_close - see linger.h. A peer that already closed its side
 * (CLOSE-WAIT) gets a plain close: lwIP frees the PCB after LAST-ACK.
 */
int linger_close(struct tcp_pcb *pcb)
{
	drop_callbacks(pcb);
	struct linger *l = 0;
	for (int i = 0; i < LINGER_MAX && !l; i++)
		if (!lingering[i].pcb)
			l = &lingering[i];
	if (pcb->state != CLOSE_WAIT && l && tcp_shutdown(pcb, 0, 1) == ERR_OK) {
		l->pcb = pcb;
		l->reset_at = time_us() + LINGER_US;
		/* When PCBs run short, lwIP frees the lowest priority first (tcp_kill_prio). */
		tcp_setprio(pcb, TCP_PRIO_MIN);
		tcp_arg(pcb, l);
		tcp_recv(pcb, on_linger_recv);
		tcp_err(pcb, on_linger_err);
		tcp_output(pcb);
		return 0;
	}
	if (pcb->state == CLOSE_WAIT && tcp_close(pcb) == ERR_OK)
		return 0;
	tcp_abort(pcb);
	return -1;
}

/*
 * Resets the connections whose peers kept them open too long. A deadline
 * is not work in flight: the service core may halt until its next tick.
 */
static int linger_poll(void)
{
	uint64_t now = time_us();
	for (int i = 0; i < LINGER_MAX; i++) {
		struct linger *l = &lingering[i];
		if (!l->pcb || now < l->reset_at)
			continue;
		struct tcp_pcb *pcb = l->pcb;
		forget(l);
		drop_callbacks(pcb);
		tcp_abort(pcb);
	}
	return 0;
}
SERVICE_POLLER(console_linger, linger_poll);
