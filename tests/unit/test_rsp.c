/*
 * tests/unit/test_rsp.c - the framing of GDB's remote protocol
 * (mgmt/gdb/rsp.c): packets and checksums, escapes, Ctrl-C, and input
 * a hostile client sends (bad checksums, overlong and cut-off packets).
 */
#include <stdio.h>
#include <string.h>

#include "mgmt/gdb/rsp.h"
#include "tests/unit/check.h"

static struct rsp_rx rx;

/* Feeds `s`; returns the last event other than RSP_NONE (or RSP_NONE). */
static enum rsp_event feed(const char *s, size_t n)
{
	enum rsp_event last = RSP_NONE;
	for (size_t i = 0; i < n; i++) {
		enum rsp_event ev = rsp_rx_byte(&rx, (uint8_t)s[i]);
		if (ev != RSP_NONE)
			last = ev;
	}
	return last;
}
#define FEED(s) feed(s, sizeof(s) - 1)

static void test_a_packet_with_its_checksum_is_taken(void)
{
	rsp_rx_init(&rx);
	CHECK_EQ(FEED("+$qSupported#37"), RSP_PACKET);
	CHECK_STREQ(rx.buf, "qSupported");
	CHECK_EQ(FEED("$g#67"), RSP_PACKET);
	CHECK_STREQ(rx.buf, "g");
	CHECK_EQ(FEED("$g#68"), RSP_BAD);
	CHECK_EQ(FEED("$g#6z"), RSP_BAD);
	CHECK_EQ(FEED("\x03"), RSP_INTERRUPT);
}

static void test_overlong_and_cut_off_packets_are_dropped(void)
{
	static char big[RSP_MAX + 100];
	rsp_rx_init(&rx);
	memset(big, 'm', sizeof(big));
	CHECK_EQ(feed("$", 1), RSP_NONE);
	CHECK_EQ(feed(big, sizeof(big)), RSP_NONE);
	CHECK_EQ(FEED("#00"), RSP_BAD);
	CHECK_EQ(FEED("$m10$g#67"), RSP_PACKET); /* a new `$` starts over */
	CHECK_STREQ(rx.buf, "g");
}

static void test_frames_escape_and_sum(void)
{
	char out[64];
	size_t n = rsp_frame("OK", 2, out, sizeof(out));
	out[n] = 0;
	CHECK_STREQ(out, "$OK#9a");
	n = rsp_frame("a#b", 3, out, sizeof(out));
	out[n] = 0;
	CHECK_STREQ(out, "$a}\x03" "b#43"); /* '#' is sent as '}' then '#' ^ 0x20 */
	CHECK_EQ(rsp_frame("toolong", 7, out, 8), 0);
}

static void test_hex_helpers_refuse_bad_input(void)
{
	uint8_t b[4];
	char hex[9];
	rsp_hex_encode("\x12\xab", 2, hex);
	CHECK_STREQ(hex, "12ab");
	CHECK_EQ(rsp_hex_decode("12ab", 2, b), 0);
	CHECK_EQ(b[1], 0xab);
	CHECK_EQ(rsp_hex_decode("1", 1, b), -1);
	CHECK_EQ(rsp_hex_decode("zz", 1, b), -1);
	const char *p = "ffffffffffffffff1";
	uint64_t v;
	CHECK_EQ(rsp_hex_u64(&p, &v), -1); /* 17 digits */
	p = "1f,";
	CHECK_EQ(rsp_hex_u64(&p, &v), 0);
	CHECK_EQ(v, 0x1f);
	CHECK_EQ(*p, ',');
	p = ",";
	CHECK_EQ(rsp_hex_u64(&p, &v), -1);
}

int main(void)
{
	RUN(test_a_packet_with_its_checksum_is_taken);
	RUN(test_overlong_and_cut_off_packets_are_dropped);
	RUN(test_frames_escape_and_sum);
	RUN(test_hex_helpers_refuse_bad_input);
	return check_done();
}
