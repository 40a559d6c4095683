/*
 * tests/unit/test_fmt.c - vmm/core/lib/fmt.c against what C's printf would print.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/unit/check.h"
#include "vmm/core/lib/fmt.h"

static char out[256];

/* No format attribute here, so odd formats can be tested without warnings. */
static int f(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = fmt_vsnprintf(out, sizeof(out), fmt, ap);
	va_end(ap);
	return r;
}

static int fn(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = fmt_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

#define EXPECT(want, ...)                                     \
	do {                                                  \
		int r_ = f(__VA_ARGS__);                      \
		CHECK_STREQ(out, want);                       \
		CHECK_EQ(r_, (int)sizeof(want) - 1);          \
	} while (0)

static void test_signed(void)
{
	EXPECT("0", "%d", 0);
	EXPECT("42", "%d", 42);
	EXPECT("-42", "%i", -42);
	EXPECT("-2147483648", "%d", INT32_MIN);
	EXPECT("2147483647", "%d", INT32_MAX);
	EXPECT("-9223372036854775808", "%ld", (long)INT64_MIN);
	EXPECT("9223372036854775807", "%lld", (long long)INT64_MAX);
	EXPECT("-1", "%zd", (long)-1);
	/* Without l, only the int is read: the upper half is not printed. */
	EXPECT("-1", "%d", -1);
}

static void test_unsigned(void)
{
	EXPECT("4294967295", "%u", UINT32_MAX);
	EXPECT("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
	EXPECT("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	EXPECT("123", "%zu", (size_t)123);
	EXPECT("deadbeef", "%x", 0xdeadbeefu);
	EXPECT("DEADBEEF", "%X", 0xdeadbeefu);
	EXPECT("ffffffffffffffff", "%lx", (unsigned long)UINT64_MAX);
	EXPECT("17", "%o", 15u);
	EXPECT("0", "%x", 0u);
	EXPECT("0", "%o", 0u);
}

static void test_other_conversions(void)
{
	EXPECT("A", "%c", 'A');
	EXPECT("hello", "%s", "hello");
	EXPECT("(null)", "%s", (char *)0);
	EXPECT("", "%s", "");
	EXPECT("%", "%%");
	EXPECT("100%", "%d%%", 100);
	EXPECT("0x1000", "%p", (void *)0x1000);
	EXPECT("0x0", "%p", (void *)0);
	EXPECT("a1b2c", "a%db%uc", 1, 2u);
	/* Unknown conversions are shown, not swallowed. */
	EXPECT("%q", "%q");
	/* A lone '%' at the end prints nothing and stops cleanly. */
	EXPECT("abc", "abc%");
}

static void test_widths(void)
{
	EXPECT("   42", "%5d", 42);
	EXPECT("42   |", "%-5d|", 42);
	EXPECT("00042", "%05d", 42);
	EXPECT("-0042", "%05d", -42);
	EXPECT("  -42", "%5d", -42);
	EXPECT("-42  |", "%-5d|", -42);
	EXPECT("42", "%1d", 42);
	EXPECT("000000ff", "%08x", 0xffu);
	EXPECT("0x0000beef", "%08p", (void *)0xbeef);
	EXPECT("   ab", "%5s", "ab");
	EXPECT("ab   |", "%-5s|", "ab");
	EXPECT("   42", "%*d", 5, 42);
	EXPECT("ab", "%.2s", "abcdef");
	EXPECT("abc", "%.*s", 3, "abcdef");
	EXPECT("   ab", "%5.2s", "abcdef");
	EXPECT("abc", "%.10s", "abc");
	EXPECT("", "%.0s", "abc");
	EXPECT("[help      ]", "[%-10s]", "help");
	/* -0 together: '-' wins, as in C. */
	EXPECT("7  |", "%-03d|", 7);
}

/* Bugs found by these tests; fixed in fmt.c. */
static void test_width_corner_cases(void)
{
	/* %c honours the width like C does. */
	EXPECT("    x", "%5c", 'x');
	EXPECT("x    |", "%-5c|", 'x');
	/* A negative '*' width means left-justify (C11 7.21.6.1p5). */
	EXPECT("42   |", "%*d|", -5, 42);
	EXPECT("ab   |", "%*s|", -5, "ab");
	CHECK_EQ(f("%*d", INT32_MIN, 1), 4096);
	/* A negative '*' precision is as if none was given. */
	EXPECT("abcdef", "%.*s", -1, "abcdef");
	/* A width too large to be meant is clamped, not overflowed (UBSan). */
	int r = f("%99999999999999999999d", 1);
	CHECK(r > 0);
	CHECK_EQ(strlen(out), sizeof(out) - 1);
}

static void test_truncation(void)
{
	char buf[8];
	memset(buf, 'X', sizeof(buf));
	int r = fn(buf, sizeof(buf), "%s", "0123456789");
	CHECK_EQ(r, 10);
	CHECK_STREQ(buf, "0123456");

	memset(buf, 'X', sizeof(buf));
	r = fn(buf, 1, "%d", 12345);
	CHECK_EQ(r, 5);
	CHECK_EQ(buf[0], 0);
	CHECK_EQ(buf[1], 'X');

	/* n == 0: nothing is written, not even the NUL; the length still comes back. */
	memset(buf, 'X', sizeof(buf));
	r = fn(buf, 0, "%d", 12345);
	CHECK_EQ(r, 5);
	CHECK_EQ(buf[0], 'X');
	CHECK_EQ(fn(0, 0, "%s and %s", "this", "that"), 13);

	/* Truncation in the middle of padding and of numbers. */
	memset(buf, 'X', sizeof(buf));
	r = fn(buf, 4, "%10d", 7);
	CHECK_EQ(r, 10);
	CHECK_STREQ(buf, "   ");
	r = fn(buf, 5, "%x", 0xabcdef12u);
	CHECK_EQ(r, 8);
	CHECK_STREQ(buf, "abcd");

	/* Exactly fitting: n == length + 1. */
	r = fn(buf, 6, "hello");
	CHECK_EQ(r, 5);
	CHECK_STREQ(buf, "hello");
	r = fn(buf, 5, "hello");
	CHECK_EQ(r, 5);
	CHECK_STREQ(buf, "hell");
}

/* fmt must agree with the C library for every width/flag/value mix it supports. */
static void test_against_libc(void)
{
	static const char *fmts[] = { "%d", "%5d", "%-5d|", "%05d", "%u", "%8x", "%08X",
				      "%-8o|", "%12ld", "%020lu", "%lx" };
	char want[64];
	for (int i = 0; i < 2000; i++) {
		const char *fm = fmts[i % (sizeof(fmts) / sizeof(fmts[0]))];
		long long v = (long long)check_rand();
		if (i & 1)
			v >>= (i % 60);
		int r;
		if (fm[strlen(fm) - 2] == 'l' || fm[strlen(fm) - 1] == 'l') {
			snprintf(want, sizeof(want), fm, (long)v);
			r = f(fm, (long)v);
		} else {
			snprintf(want, sizeof(want), fm, (int)v);
			r = f(fm, (int)v);
		}
		CHECK_STREQ(out, want);
		CHECK_EQ(r, (int)strlen(want));
	}
}

static void test_small_parsers(void)
{
	uint8_t m[6];
	CHECK_EQ(fmt_hexdigit('0'), 0);
	CHECK_EQ(fmt_hexdigit('a'), 10);
	CHECK_EQ(fmt_hexdigit('F'), 15);
	CHECK_EQ(fmt_hexdigit('g'), -1);
	CHECK_EQ(fmt_hexdigit(0), -1);
	CHECK_EQ(fmt_parse_mac("52:54:00:aB:cd:EF", m), 0);
	CHECK(m[0] == 0x52 && m[3] == 0xab && m[5] == 0xef);
	CHECK_EQ(fmt_parse_mac("52:54:00:ab:cd:ef0", m), -1); /* trailing byte */
	CHECK_EQ(fmt_parse_mac("52:54:00:ab:cd", m), -1);
	CHECK_EQ(fmt_parse_mac("52-54-00-ab-cd-ef", m), -1);
	CHECK_EQ(fmt_parse_mac("5:254:00:ab:cd:ef", m), -1);
	CHECK_EQ(fmt_parse_mac("", m), -1);
}

int main(void)
{
	RUN(test_signed);
	RUN(test_unsigned);
	RUN(test_other_conversions);
	RUN(test_widths);
	RUN(test_width_corner_cases);
	RUN(test_truncation);
	RUN(test_against_libc);
	RUN(test_small_parsers);
	return check_done();
}
