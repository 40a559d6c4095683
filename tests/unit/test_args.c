/*
 * tests/unit/test_args.c - mgmt/shell/args.c: word splitting and values.
 */
#include <stdint.h>

#include "mgmt/shell/args.h"
#include "tests/unit/check.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"

static char line[4096];
static char *argv[ARGS_MAX];

static int split(const char *s)
{
	snprintf(line, sizeof(line), "%s", s);
	return args_split(line, argv);
}

static void test_split_plain(void)
{
	CHECK_EQ(split(""), 0);
	CHECK_EQ(split("   \t "), 0);
	CHECK_EQ(split("status"), 1);
	CHECK_STREQ(argv[0], "status");
	CHECK_EQ(split("  vm   start\tweb1  "), 3);
	CHECK_STREQ(argv[0], "vm");
	CHECK_STREQ(argv[1], "start");
	CHECK_STREQ(argv[2], "web1");
}

static void test_split_quotes(void)
{
	CHECK_EQ(split("vm set a cmdline=\"console=ttyS0 quiet\""), 4);
	CHECK_STREQ(argv[3], "cmdline=console=ttyS0 quiet");
	CHECK_EQ(split("\"\""), 1); /* an empty quoted word is a word */
	CHECK_STREQ(argv[0], "");
	CHECK_EQ(split("a \"b c\"d e"), 3);
	CHECK_STREQ(argv[1], "b cd");
	CHECK_STREQ(argv[2], "e");
	CHECK_EQ(split("\"tab\there\""), 1);
	CHECK_STREQ(argv[0], "tab\there");
}

static void test_split_escapes(void)
{
	CHECK_EQ(split("\"say \\\"hi\\\"\""), 1);
	CHECK_STREQ(argv[0], "say \"hi\"");
	CHECK_EQ(split("\"back\\\\slash\""), 1);
	CHECK_STREQ(argv[0], "back\\slash");
	/* Other backslashes, and any outside quotes, are literal. */
	CHECK_EQ(split("\"a\\nb\" c\\d"), 2);
	CHECK_STREQ(argv[0], "a\\nb");
	CHECK_STREQ(argv[1], "c\\d");
	/* A backslash at the very end inside quotes leaves the quote open. */
	CHECK_EQ(split("\"abc\\\""), -EINVAL);
}

static void test_split_errors(void)
{
	CHECK_EQ(split("vm \"unclosed"), -EINVAL);
	CHECK_EQ(split("\""), -EINVAL);
	char many[512] = "";
	for (int i = 0; i < ARGS_MAX; i++)
		strcat(many, "w ");
	CHECK_EQ(split(many), ARGS_MAX);
	strcat(many, "x");
	CHECK_EQ(split(many), -E2BIG);
	/* Trailing spaces after exactly ARGS_MAX words are fine. */
	many[strlen(many) - 1] = ' ';
	CHECK_EQ(split(many), ARGS_MAX);
}

static void test_parse_uint(void)
{
	uint64_t v = 7;
	CHECK_EQ(fmt_parse_uint("0", 0, 10, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(fmt_parse_uint("65535", 1, 65535, &v), 0);
	CHECK_EQ(v, 65535);
	CHECK_EQ(fmt_parse_uint("65536", 1, 65535, &v), -ERANGE);
	CHECK_EQ(fmt_parse_uint("0", 1, 65535, &v), -ERANGE);
	CHECK_EQ(fmt_parse_uint("", 0, 10, &v), -EINVAL);
	CHECK_EQ(fmt_parse_uint("-1", 0, 10, &v), -EINVAL);
	CHECK_EQ(fmt_parse_uint("+1", 0, 10, &v), -EINVAL);
	CHECK_EQ(fmt_parse_uint("1x", 0, 10, &v), -EINVAL);
	CHECK_EQ(fmt_parse_uint(" 1", 0, 10, &v), -EINVAL);
	CHECK_EQ(v, 65535); /* untouched by failures */
	/* Bug fixed with this: UINT64_MAX itself used to be out of range. */
	CHECK_EQ(fmt_parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	CHECK_EQ(fmt_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	CHECK_EQ(fmt_parse_uint("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	CHECK_EQ(fmt_parse_uint("0000000000000000000000000042", 0, 100, &v), 0);
	CHECK_EQ(v, 42);
}

static void test_parse_size(void)
{
	uint64_t v = 0;
	CHECK_EQ(fmt_parse_size("512", &v), 0);
	CHECK_EQ(v, 512);
	CHECK_EQ(fmt_parse_size("4K", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(fmt_parse_size("4k", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(fmt_parse_size("256M", &v), 0);
	CHECK_EQ(v, 256ull << 20);
	CHECK_EQ(fmt_parse_size("2G", &v), 0);
	CHECK_EQ(v, 2ull << 30);
	CHECK_EQ(fmt_parse_size("2g", &v), 0);
	CHECK_EQ(fmt_parse_size("0M", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(fmt_parse_size("", &v), -EINVAL);
	CHECK_EQ(fmt_parse_size("M", &v), -EINVAL);
	CHECK_EQ(fmt_parse_size("1T", &v), -EINVAL);
	CHECK_EQ(fmt_parse_size("1MB", &v), -EINVAL);
	CHECK_EQ(fmt_parse_size("1 M", &v), -EINVAL);
	CHECK_EQ(fmt_parse_size("-1M", &v), -EINVAL);
	CHECK_EQ(fmt_parse_size("1.5G", &v), -EINVAL);
	/* Overflow, in the digits and in the shift. */
	CHECK_EQ(fmt_parse_size("17179869183G", &v), 0);
	CHECK_EQ(v, 17179869183ull << 30);
	CHECK_EQ(fmt_parse_size("17179869184G", &v), -ERANGE);
	CHECK_EQ(fmt_parse_size("18014398509481984K", &v), -ERANGE);
	CHECK_EQ(fmt_parse_size("18446744073709551616", &v), -ERANGE);
	CHECK_EQ(fmt_parse_size("123456789012345678901234567890", &v), -ERANGE);
}

static void test_valid_name(void)
{
	CHECK(args_valid_name("web1"));
	CHECK(args_valid_name("a"));
	CHECK(args_valid_name("db_main-2"));
	CHECK(args_valid_name("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
	CHECK(!args_valid_name("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
	CHECK(!args_valid_name(""));
	CHECK(!args_valid_name("1abc"));
	CHECK(!args_valid_name("_abc"));
	CHECK(!args_valid_name("-abc"));
	CHECK(!args_valid_name("Web"));
	CHECK(!args_valid_name("a b"));
	CHECK(!args_valid_name("a/b"));
	CHECK(!args_valid_name("a.b"));
	CHECK(!args_valid_name("caf\xc3\xa9"));
}

int main(void)
{
	RUN(test_split_plain);
	RUN(test_split_quotes);
	RUN(test_split_escapes);
	RUN(test_split_errors);
	RUN(test_parse_uint);
	RUN(test_parse_size);
	RUN(test_valid_name);
	return check_done();
}
