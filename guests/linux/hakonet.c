/*
 * guests/linux/hakonet.c - raw Ethernet frames for the network tests of
 * hako's test guest (built static into its initramfs by build.sh).
 *
 *   hakonet flood IFACE COUNT [DSTMAC]  COUNT frames from IFACE's own MAC
 *                                       (to broadcast, or DSTMAC)
 *   hakonet forge IFACE SRCMAC COUNT    COUNT broadcast frames claiming SRCMAC
 *   hakonet count IFACE SECONDS         counts test frames arriving for SECONDS
 *   hakonet send HOST PORT MIB          TCP: MIB MiB of zeros to HOST:PORT
 *   hakonet recv PORT                   TCP: takes one connection's bytes
 *
 * send and recv time the transfer by the guest's clock (send: connect to the
 * peer's close after our end of stream; recv: first byte to end of stream)
 * and print bytes, seconds and MB/s (10^6 bytes a second).
 * Test frames carry EtherType 0x88b5 (IEEE 802 local experimental) and 46
 * bytes of payload. Each command prints one "HAKONET ..." line with what
 * it did, for the test to match.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define TEST_TYPE 0x88b5

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (unsigned char)v[i];
	return 0;
}

static int open_iface(const char *name, int *ifindex, unsigned char mac[6])
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(TEST_TYPE));
	struct ifreq ifr;
	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		perror(name);
		exit(1);
	}
	*ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror("SIOCGIFHWADDR");
		exit(1);
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(TEST_TYPE),
				   .sll_ifindex = *ifindex };
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("bind");
		exit(1);
	}
	return fd;
}

static int send_frames(const char *iface, const unsigned char *src, const unsigned char *dst,
		       long count)
{
	int ifindex;
	unsigned char own[6], frame[60];
	int fd = open_iface(iface, &ifindex, own);
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src ? src : own, 6);
	frame[12] = TEST_TYPE >> 8, frame[13] = TEST_TYPE & 0xff;
	memset(frame + 14, 0x5a, sizeof(frame) - 14);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };
	memcpy(to.sll_addr, dst, 6);
	long sent = 0, failed = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < count; i++) {
		memcpy(frame + 14, &i, sizeof(i));
		if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			failed++;       /* a full transmit queue (ENOBUFS): try the next */
		else
			sent++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("HAKONET sent %ld failed %ld in %.2f s\n", sent, failed,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

static int count_frames(const char *iface, int seconds)
{
	int ifindex;
	unsigned char own[6], buf[2048];
	int fd = open_iface(iface, &ifindex, own);
	struct timeval tv = { 0, 200000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	long n = 0;
	time_t end = time(0) + seconds;
	printf("HAKONET listening\n");
	fflush(stdout);
	while (time(0) < end)
		if (recv(fd, buf, sizeof(buf), 0) > 0)
			n++;
	printf("HAKONET count %ld\n", n);
	return 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void report(const char *what, long long bytes, double secs)
{
	printf("HAKONET %s %lld bytes in %.3f s = %.1f MB/s\n", what, bytes, secs,
	       secs > 0 ? bytes / secs / 1e6 : 0.0);
}

static int tcp_send(const char *host, int port, long mib)
{
	static char buf[65536];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return fprintf(stderr, "bad address %s\n", host), 1;
	double t0 = now_s();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return perror("connect"), 1;
	long long total = 0, want = (long long)mib << 20;
	while (total < want) {
		size_t k = want - total < (long long)sizeof(buf) ? (size_t)(want - total) : sizeof(buf);
		ssize_t n = write(fd, buf, k);
		if (n <= 0)
			return perror("write"), 1;
		total += n;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)   /* the peer closes once it has it all */
		;
	report("send", total, now_s() - t0);
	return 0;
}

static int tcp_recv(int port)
{
	static char buf[65536];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
		return perror("listen"), 1;
	printf("HAKONET listening\n");
	fflush(stdout);
	int c = accept(fd, 0, 0);
	if (c < 0)
		return perror("accept"), 1;
	long long total = 0;
	double t0 = 0;
	for (ssize_t n; (n = read(c, buf, sizeof(buf))) > 0; total += n)
		if (!total)
			t0 = now_s();
	report("recv", total, now_s() - t0);
	close(c);
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned char bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	unsigned char mac[6], dst[6];
	if (argc >= 4 && !strcmp(argv[1], "flood")) {
		if (argc > 4 && parse_mac(argv[4], dst))
			return fprintf(stderr, "bad MAC %s\n", argv[4]), 2;
		return send_frames(argv[2], 0, argc > 4 ? dst : bcast, atol(argv[3]));
	}
	if (argc == 5 && !strcmp(argv[1], "forge")) {
		if (parse_mac(argv[3], mac))
			return fprintf(stderr, "bad MAC %s\n", argv[3]), 2;
		return send_frames(argv[2], mac, bcast, atol(argv[4]));
	}
	if (argc == 4 && !strcmp(argv[1], "count"))
		return count_frames(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "send"))
		return tcp_send(argv[2], atoi(argv[3]), atol(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "recv"))
		return tcp_recv(atoi(argv[2]));
	fprintf(stderr, "usage: hakonet flood IFACE COUNT [DSTMAC] | forge IFACE SRCMAC COUNT | "
			"count IFACE SECONDS | send HOST PORT MIB | recv PORT\n");
	return 2;
}
