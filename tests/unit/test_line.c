/*
 * tests/unit/test_line.c - mgmt/shell/line.c fed byte by byte.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mgmt/shell/line.h"
#include "tests/unit/check.h"

static char echo_buf[8192];
static size_t echo_len;

static void echo(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		if (echo_len < sizeof(echo_buf) - 1)
			echo_buf[echo_len++] = s[i];
	echo_buf[echo_len] = 0;
}

static struct line_editor ed;

static void fresh(void)
{
	line_init(&ed, echo, 0);
	line_reset(&ed);
	echo_len = 0;
	echo_buf[0] = 0;
}

/* Feeds a string; returns the last event other than LINE_NONE (or NONE). */
static enum line_event feed(const char *s)
{
	enum line_event last = LINE_NONE;
	for (; *s; s++) {
		enum line_event e = line_feed(&ed, (unsigned char)*s);
		if (e != LINE_NONE)
			last = e;
	}
	return last;
}

/* Types a whole line and returns it as the editor delivered it. */
static const char *enter(const char *s)
{
	line_reset(&ed);
	enum line_event e = feed(s);
	CHECK_EQ(e, LINE_DONE);
	return ed.buf;
}

static void test_typing(void)
{
	fresh();
	CHECK_EQ(feed("status"), LINE_NONE);
	CHECK_EQ(ed.len, 6);
	CHECK_STREQ(echo_buf, "status");
	CHECK_EQ(feed("\r"), LINE_DONE);
	CHECK_STREQ(ed.buf, "status");
	CHECK_STREQ(echo_buf, "status\r\n");
	line_reset(&ed);
	CHECK_EQ(ed.len, 0);
	CHECK_STREQ(ed.buf, "");
	/* An empty line is a line. */
	CHECK_EQ(feed("\r"), LINE_DONE);
	CHECK_STREQ(ed.buf, "");
}

static void test_backspace_and_ctrl_u(void)
{
	fresh();
	feed("abc\x7f");
	CHECK_EQ(ed.len, 2);
	feed("\b");
	CHECK_EQ(ed.len, 1);
	feed("\b\b\x7f"); /* more erasing than there is: harmless */
	CHECK_EQ(ed.len, 0);
	CHECK_STREQ(echo_buf, "abc\b \b\b \b\b \b");
	feed("xy");
	CHECK_STREQ(enter("xy\x15vm list\r") , "vm list");
	fresh();
	feed("hello\x15");
	CHECK_EQ(ed.len, 0);
	CHECK_EQ(feed("\r"), LINE_DONE);
	CHECK_STREQ(ed.buf, "");
}

static void test_ctrl_c(void)
{
	fresh();
	CHECK_EQ(feed("vm stop x\x03"), LINE_CANCEL);
	CHECK_CONTAINS(echo_buf, "^C\r\n");
	line_reset(&ed);
	CHECK_EQ(ed.len, 0);
	CHECK_STREQ(enter("help\r"), "help");
	/* A cancelled line does not go into the history. */
	fresh();
	feed("one\x03");
	line_reset(&ed);
	feed("\x1b[A");
	CHECK_EQ(ed.len, 0);
}

static void test_line_endings(void)
{
	fresh();
	/* CR LF ends one line, not two. */
	CHECK_EQ(feed("a\r"), LINE_DONE);
	line_reset(&ed);
	CHECK_EQ(feed("\n"), LINE_NONE);
	CHECK_EQ(feed("b\n"), LINE_DONE);
	CHECK_STREQ(ed.buf, "b");
	line_reset(&ed);
	/* LF LF is two lines; LF CR is two lines too. */
	CHECK_EQ(feed("\n"), LINE_DONE);
	line_reset(&ed);
	CHECK_EQ(feed("\r"), LINE_DONE);
	line_reset(&ed);
	/* CR CR is two (empty) lines. */
	CHECK_EQ(feed("\r"), LINE_DONE);
	line_reset(&ed);
	CHECK_EQ(feed("c\r"), LINE_DONE);
	CHECK_STREQ(ed.buf, "c");
	line_reset(&ed);
	CHECK_EQ(feed("\nd\r\n"), LINE_DONE);
	CHECK_STREQ(ed.buf, "d");
}

static void test_history(void)
{
	fresh();
	enter("first\r");
	enter("second\r");
	enter("second\r"); /* a repeat is stored once */
	enter("third\r");
	line_reset(&ed);
	feed("\x1b[A");
	CHECK_STREQ(ed.buf, "third");
	CHECK_EQ(ed.len, 5);
	feed("\x1b[A");
	ed.buf[ed.len] = 0;
	CHECK_STREQ(ed.buf, "second");
	feed("\x1bOA"); /* ESC O A works too */
	ed.buf[ed.len] = 0;
	CHECK_STREQ(ed.buf, "first");
	feed("\x1b[A"); /* past the oldest: stays */
	ed.buf[ed.len] = 0;
	CHECK_STREQ(ed.buf, "first");
	feed("\x1b[B\x1b[B");
	ed.buf[ed.len] = 0;
	CHECK_STREQ(ed.buf, "third");
	feed("\x1b[B"); /* back to an empty line */
	CHECK_EQ(ed.len, 0);
	feed("\x1b[B");
	CHECK_EQ(ed.len, 0);
	/* A recalled line can be edited and entered. */
	feed("\x1b[A\x7f\x7f\x7f" "ree\r");
	CHECK_STREQ(ed.buf, "three");

	/* More than LINE_HISTORY lines: the oldest fall off. */
	fresh();
	char line[16];
	for (int i = 0; i < LINE_HISTORY + 5; i++) {
		snprintf(line, sizeof(line), "cmd%d\r", i);
		enter(line);
	}
	line_reset(&ed);
	for (int i = 0; i < LINE_HISTORY + 3; i++)
		feed("\x1b[A");
	ed.buf[ed.len] = 0;
	CHECK_STREQ(ed.buf, "cmd5");
}

static void test_escape_sequences(void)
{
	fresh();
	/* Right/left arrows, Home, Delete (ESC [ 3 ~), F5 (ESC [ 1 5 ~) are ignored. */
	feed("ab\x1b[C\x1b[D\x1b[H\x1b[3~\x1b[15~\x1b[1;5Ac");
	CHECK_EQ(feed("\r"), LINE_DONE);
	CHECK_STREQ(ed.buf, "abc");
	/* ESC followed by an ordinary key: ESC is dropped, the key is eaten by
	 * the sequence state but later keys are fine. */
	fresh();
	feed("\x1bxyz\r");
	CHECK_STREQ(ed.buf, "yz");
	/* Other control bytes and bytes >= 0x80 are ignored. */
	fresh();
	feed("a\x01\x02\x07\x80\xff\tb\r");
	CHECK_STREQ(ed.buf, "ab");
}

static void test_too_long(void)
{
	fresh();
	for (int i = 0; i < LINE_MAX; i++)
		line_feed(&ed, 'a' + i % 26);
	CHECK_EQ(ed.len, LINE_MAX);
	/* Exactly LINE_MAX characters is fine. */
	CHECK_EQ(feed("\r"), LINE_DONE);
	CHECK_EQ(strlen(ed.buf), LINE_MAX);
	line_reset(&ed);
	for (int i = 0; i < 5000; i++)
		line_feed(&ed, 'x');
	CHECK_EQ(ed.len, LINE_MAX);
	feed("\x7f"); /* backspace after overflow does not make it fit */
	CHECK_EQ(feed("\r"), LINE_TOO_LONG);
	CHECK_EQ(strlen(ed.buf), LINE_MAX);
	line_reset(&ed);
	/* An over-long line is not put into the history. */
	feed("\x1b[A");
	CHECK_EQ(ed.len, LINE_MAX); /* the previous good line */
	CHECK_EQ(ed.buf[0], 'a');
	line_reset(&ed);
	/* Ctrl-U after an overflow starts over. */
	for (int i = 0; i < LINE_MAX + 10; i++)
		line_feed(&ed, 'y');
	feed("\x15ok\r");
	CHECK_STREQ(ed.buf, "ok");
}

static void test_random_bytes(void)
{
	fresh();
	unsigned events = 0;
	for (int i = 0; i < 100 * 1024; i++) {
		enum line_event e = line_feed(&ed, (unsigned char)check_rand());
		if (ed.len > LINE_MAX) {
			CHECK(!"len past LINE_MAX");
			return;
		}
		if (e != LINE_NONE) {
			events++;
			if (strlen(ed.buf) > LINE_MAX) {
				CHECK(!"delivered line longer than LINE_MAX");
				return;
			}
			line_reset(&ed);
		}
		if (echo_len > 4096)
			echo_len = 0;
	}
	CHECK(events > 100);
	/* Still usable: leave any escape state, clear, and enter a line. */
	feed("\x1b[A\x15");
	line_reset(&ed);
	feed("\x15status\r");
	CHECK_STREQ(ed.buf, "status");
}

int main(void)
{
	RUN(test_typing);
	RUN(test_backspace_and_ctrl_u);
	RUN(test_ctrl_c);
	RUN(test_line_endings);
	RUN(test_history);
	RUN(test_escape_sequences);
	RUN(test_too_long);
	RUN(test_random_bytes);
	return check_done();
}
