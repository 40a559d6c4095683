/*
 * tests/unit/test_telnet.c - the network console's telnet receive filter
 * (mgmt/console/telnet.c, RFC 854): negotiation is stripped, data survives, and a
 * random stream (a fuzz run under the sanitizers) never loses the data
 * that follows it once the stream is back in data state.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mgmt/console/telnet.h"

/* Filters `n` bytes; returns how many data bytes were written to out. */
static size_t filter(struct telnet_rx *t, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int c = telnet_rx_byte(t, in[i]);
		if (c >= 0)
			out[k++] = (uint8_t)c;
	}
	return k;
}

static void test_plain_data(void)
{
	struct telnet_rx t = { 0 };
	uint8_t out[16];
	CHECK_EQ(filter(&t, (const uint8_t *)"host\r\n", 6, out), 6);
	CHECK(!memcmp(out, "host\r\n", 6));
}

static void test_negotiation_stripped(void)
{
	/* What `telnet` sends on connect, around a user name. */
	static const uint8_t in[] = { 255, 253, 1, 255, 251, 24, 'a', 255, 250, 24, 0, 'x',
				      'y', 255, 240, 'd', 255, 241, 'm', 255, 255, 'n' };
	struct telnet_rx t = { 0 };
	uint8_t out[32];
	size_t k = filter(&t, in, sizeof(in), out);
	CHECK_EQ(k, 5);
	CHECK(!memcmp(out, "adm\xffn", 5));
}

static void test_subnegotiation_with_escaped_iac(void)
{
	/* IAC IAC inside SB stays inside; only IAC SE ends it. */
	static const uint8_t in[] = { 255, 250, 31, 255, 255, 0, 80, 255, 240, 'z' };
	struct telnet_rx t = { 0 };
	uint8_t out[8];
	CHECK_EQ(filter(&t, in, sizeof(in), out), 1);
	CHECK_EQ(out[0], 'z');
}

static void test_random_streams(void)
{
	srand(6);
	for (int round = 0; round < 2000; round++) {
		uint8_t in[512], out[512 + 8];
		size_t n = (size_t)(rand() % (int)sizeof(in));
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)(rand() % 4 ? rand() : 255);
		struct telnet_rx t = { 0 };
		size_t k = filter(&t, in, n, out);
		CHECK(k <= n);
		/* Whatever state garbage left, IAC SE then a line gets through
		 * (SE ends SB; after an option byte or command we are back in data). */
		static const uint8_t reset[] = { 255, 240, 255, 240 };
		filter(&t, reset, sizeof(reset), out);
		CHECK_EQ(filter(&t, (const uint8_t *)"ok\n", 3, out), 3);
	}
}

int main(void)
{
	RUN(test_plain_data);
	RUN(test_negotiation_stripped);
	RUN(test_subnegotiation_with_escaped_iac);
	RUN(test_random_streams);
	return check_done();
}
