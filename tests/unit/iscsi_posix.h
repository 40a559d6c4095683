/*
 * tests/unit/iscsi_posix.h - a POSIX-socket transport for the portable
 * iSCSI initiator (net/iscsi), for host programs and tests: non-blocking
 * TCP, poll(2), CLOCK_MONOTONIC, /dev/urandom.
 */
#ifndef HAKO_TEST_ISCSI_POSIX_H
#define HAKO_TEST_ISCSI_POSIX_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/iscsi/session.h"

struct posix_tp {
	int fd, connecting;
	struct iscsi_session *s;
	int (*interrupted)(void);
};

static int ptp_connect(void *ctx, const char *host, uint16_t port)
{
	struct posix_tp *tp = ctx;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	tp->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tp->fd < 0)
		return -EIO;
	int one = 1;
	setsockopt(tp->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(tp->fd, (void *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		close(tp->fd), tp->fd = -1;
		return -ECONNREFUSED;
	}
	tp->connecting = 1;
	return 0;
}

static long ptp_send(void *ctx, const void *buf, size_t n)
{
	struct posix_tp *tp = ctx;
	if (tp->fd < 0 || tp->connecting)
		return 0;
	ssize_t r = send(tp->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -EIO;
	return r;
}

static void ptp_close(void *ctx)
{
	struct posix_tp *tp = ctx;
	if (tp->fd >= 0)
		close(tp->fd);
	tp->fd = -1, tp->connecting = 0;
}

static uint64_t ptp_now(void *ctx)
{
	struct timespec ts;
	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static void ptp_random(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f || fread(buf, 1, n, f) != n)
		abort();
	fclose(f);
}

static const struct iscsi_transport_ops posix_tp_ops = {
	ptp_connect, ptp_send, ptp_close, ptp_now, ptp_random, 0,
};

/* One round of the event loop: wait up to 10 ms for the socket. */
static int ptp_wait(void *arg)
{
	static uint8_t buf[256 * 1024];
	struct posix_tp *tp = arg;
	if (tp->interrupted && tp->interrupted())
		return 1;
	if (tp->fd < 0) {
		usleep(10000);
		return 0;
	}
	struct pollfd pfd = { tp->fd, (short)(tp->connecting ? POLLOUT : POLLIN), 0 };
	if (poll(&pfd, 1, 10) <= 0)
		return 0;
	if (tp->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(tp->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		tp->connecting = 0;
		if (err)
			iscsi_conn_down(tp->s, -ECONNREFUSED, "connection refused");
		else
			iscsi_conn_up(tp->s);
		return 0;
	}
	ssize_t n = recv(tp->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0)
		iscsi_feed(tp->s, buf, (size_t)n);
	else if (n == 0)
		iscsi_conn_down(tp->s, -EIO, "target closed the connection");
	else if (errno != EAGAIN && errno != EWOULDBLOCK)
		iscsi_conn_down(tp->s, -EIO, "connection reset");
	return 0;
}

#endif
