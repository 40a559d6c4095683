/*
 * tests/unit/test_cfg.c - mgmt/cfg.c: hako.cfg parsing and checks.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mgmt/cfg.h"
#include "tests/unit/check.h"

static struct cfg cfg;
static char reports[16384];
static unsigned nreports;

static void report(void *ctx, const char *msg)
{
	(void)ctx;
	nreports++;
	size_t n = strlen(reports);
	snprintf(reports + n, sizeof(reports) - n, "%s\n", msg);
}

static unsigned parse_n(const char *text, size_t len)
{
	reports[0] = 0;
	nreports = 0;
	unsigned bad = cfg_parse(&cfg, text, len, report, 0);
	CHECK_EQ(bad, nreports);
	CHECK_EQ(cfg.errors, bad);
	return bad;
}

static unsigned parse(const char *text) { return parse_n(text, strlen(text)); }

static void test_good_file(void)
{
	CHECK_EQ(parse("# hako.cfg\n"
		       "net=dhcp\n"
		       "\n"
		       "   ip = 192.168.1.10/24  \n"
		       "gw=192.168.1.1\n"
		       "\t# an indented comment\n"
		       "mgmt_port=2222\n"
		       "catalog=iscsi://10.0.0.1/iqn.2024-01.org.example:cat/0\n"
		       "log_level=debug\n"
		       "hostname=box one\n"), 0);
	CHECK(cfg.present);
	CHECK_EQ(cfg.count, 7);
	CHECK_STREQ(cfg_get(&cfg, "net"), "dhcp");
	CHECK_STREQ(cfg_get(&cfg, "ip"), "192.168.1.10/24");
	CHECK_STREQ(cfg_get(&cfg, "hostname"), "box one");
	CHECK_STREQ(cfg_get(&cfg, "log_level"), "debug");
	CHECK(cfg_get(&cfg, "dns") == 0);
	CHECK(cfg_get(&cfg, "nonsense") == 0);
	CHECK_EQ(cfg.entries[0].line, 2);
	/* No trailing newline, empty text. */
	CHECK_EQ(parse("net=off"), 0);
	CHECK_STREQ(cfg_get(&cfg, "net"), "off");
	CHECK_EQ(parse(""), 0);
	CHECK_EQ(cfg.count, 0);
	CHECK(cfg.present);
	/* A repeated plain key: the last one wins, stored once. */
	CHECK_EQ(parse("net=dhcp\nnet=static\n"), 0);
	CHECK_EQ(cfg.count, 1);
	CHECK_STREQ(cfg_get(&cfg, "net"), "static");
	/* An empty value for a free-form key is allowed. */
	CHECK_EQ(parse("hostname=\n"), 0);
	CHECK_STREQ(cfg_get(&cfg, "hostname"), "");
	/* '=' inside the value is kept. */
	CHECK_EQ(parse("initiator=iqn=x=y\n"), 0);
	CHECK_STREQ(cfg_get(&cfg, "initiator"), "iqn=x=y");
}

static void test_problems_with_line_numbers(void)
{
	CHECK_EQ(parse("net=dhcp\n"
		       "colour=blue\n"
		       "just some words\n"
		       "=value\n"
		       "net=sometimes\n"
		       "gw=300.1.1.1\n"), 5);
	CHECK_CONTAINS(reports, "hako.cfg:2: unknown key 'colour'");
	CHECK_CONTAINS(reports, "hako.cfg:3: expected KEY=VALUE");
	CHECK_CONTAINS(reports, "hako.cfg:4: bad key");
	CHECK_CONTAINS(reports, "hako.cfg:5: net must be dhcp, static or off");
	CHECK_CONTAINS(reports, "hako.cfg:6: gw must be");
	/* Good lines around bad ones still count; bad values do not replace good ones. */
	CHECK_STREQ(cfg_get(&cfg, "net"), "dhcp");
	CHECK(cfg_get(&cfg, "gw") == 0);
	CHECK_EQ(cfg.count, 1);
	/* A null report callback is allowed. */
	CHECK_EQ(cfg_parse(&cfg, "x=1\ny=2\n", 8, 0, 0), 2);
}

static void test_validators(void)
{
	static const struct { const char *line; int ok; } cases[] = {
		{ "net=static", 1 }, { "net=DHCP", 0 }, { "net=", 0 },
		{ "ip=10.0.0.1/8", 1 }, { "ip=10.0.0.1", 0 }, { "ip=10.0.0.1/33", 0 },
		{ "ip=10.0.0.1/", 0 }, { "ip=10.0.0/8", 0 }, { "ip=10.0.0.256/8", 0 },
		{ "ip=10.0.0.1/8/8", 0 }, { "ip=1.2.3.4.5/8", 0 }, { "ip=0.0.0.0/0", 1 },
		{ "gw=255.255.255.255", 1 }, { "gw=1.2.3.4/24", 0 }, { "gw=1.2.3.", 0 },
		{ "gw=01.2.3.4", 1 }, { "gw=0001.2.3.4", 0 }, { "gw=a.b.c.d", 0 },
		{ "dns=8.8.8.8", 1 }, { "dns=8.8.8.8 ", 1 },
		{ "mgmt_port=1", 1 }, { "mgmt_port=65535", 1 }, { "mgmt_port=0", 0 },
		{ "mgmt_port=65536", 0 }, { "mgmt_port=22a", 0 }, { "mgmt_port=-1", 0 },
		{ "iscsi_timeout=30", 1 },
		{ "timeslice=10", 1 }, { "timeslice=1000", 1 }, { "timeslice=0", 0 },
		{ "timeslice=1001", 0 }, { "timeslice=5ms", 0 },
		{ "catalog=iscsi://h/iqn/0", 1 }, { "catalog=http://h/", 0 }, { "pool=iscsi:/", 0 },
		{ "log_level=warn", 1 }, { "log_level=verbose", 0 },
		{ "user=admin:$6$abc", 1 }, { "user=admin", 0 }, { "user=:hash", 0 },
		{ "user=admin:", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned bad = parse(cases[i].line);
		if (!CHECK(bad == (cases[i].ok ? 0u : 1u)))
			printf("     line: %s\n", cases[i].line);
	}
	CHECK_EQ(cfg_check_ipv4("192.168.0.1", 0), 0);
	CHECK(cfg_check_ipv4("192.168.0.1", 1) != 0);
	CHECK_EQ(cfg_check_ipv4("192.168.0.1/24", 1), 0);
	CHECK(cfg_check_ipv4("", 0) != 0);
}

static void test_repeatable_user(void)
{
	CHECK_EQ(parse("user=alice:h1\nnet=dhcp\nuser=bob:h2\nuser=carol:h3\n"), 0);
	CHECK_STREQ(cfg_get_nth(&cfg, "user", 0), "alice:h1");
	CHECK_STREQ(cfg_get_nth(&cfg, "user", 1), "bob:h2");
	CHECK_STREQ(cfg_get_nth(&cfg, "user", 2), "carol:h3");
	CHECK(cfg_get_nth(&cfg, "user", 3) == 0);
	CHECK_STREQ(cfg_get(&cfg, "user"), "carol:h3");
	CHECK_STREQ(cfg_get_nth(&cfg, "net", 0), "dhcp");
	CHECK(cfg_get_nth(&cfg, "net", 1) == 0);

	/* More settings than fit: reported, never overflowing. */
	static char big[CFG_MAX_ENTRIES * 20 + 100];
	big[0] = 0;
	for (int i = 0; i < CFG_MAX_ENTRIES + 5; i++)
		sprintf(big + strlen(big), "user=u%d:h\n", i);
	CHECK_EQ(parse(big), 5);
	CHECK_EQ(cfg.count, CFG_MAX_ENTRIES);
	CHECK_CONTAINS(reports, "too many settings");
	CHECK_STREQ(cfg_get_nth(&cfg, "user", CFG_MAX_ENTRIES - 1), "u63:h");
}

static void test_crlf(void)
{
	CHECK_EQ(parse("net=static\r\nip=10.1.2.3/16\r\n# c\r\n\r\nuser=a:b\r\n"), 0);
	CHECK_STREQ(cfg_get(&cfg, "net"), "static");
	CHECK_STREQ(cfg_get(&cfg, "ip"), "10.1.2.3/16");
	CHECK_STREQ(cfg_get(&cfg, "user"), "a:b");
	CHECK_EQ(parse("net=static\r\nbogus\r\n"), 1);
	CHECK_CONTAINS(reports, "hako.cfg:2:");
	/* A CR inside a value is a control character. */
	CHECK_EQ(parse("hostname=a\rb\n"), 1);
	CHECK_CONTAINS(reports, "control");
}

static void test_huge_lines(void)
{
	static char text[8192];
	/* Value of exactly 255 characters fits; 256 does not. */
	strcpy(text, "hostname=");
	memset(text + 9, 'h', 255);
	text[9 + 255] = 0;
	CHECK_EQ(parse(text), 0);
	CHECK_EQ(strlen(cfg_get(&cfg, "hostname")), 255);
	strcat(text, "h");
	CHECK_EQ(parse(text), 1);
	CHECK_CONTAINS(reports, "value too long");
	/* Keys of 31 and 32 characters. */
	snprintf(text, sizeof(text), "%s=1\n%s=1\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK_EQ(parse(text), 2);
	CHECK_CONTAINS(reports, "hako.cfg:1: unknown key");
	CHECK_CONTAINS(reports, "hako.cfg:2: bad key");
	/* A 5000-character line, then a good one. */
	memset(text, 'x', 5000);
	strcpy(text + 5000, "\nnet=off\n");
	CHECK_EQ(parse(text), 1);
	CHECK_CONTAINS(reports, "hako.cfg:1: line too long");
	CHECK_STREQ(cfg_get(&cfg, "net"), "off");
}

static void test_binary_garbage(void)
{
	/* A NUL inside a key or a value: bugs fixed with this; both used to be
	 * cut at the NUL and accepted ("net\0junk=dhcp" set net). */
	static const char k[] = "net\0junk=dhcp\n";
	CHECK_EQ(parse_n(k, sizeof(k) - 1), 1);
	CHECK(cfg_get(&cfg, "net") == 0);
	static const char v[] = "net=dhcp\0junk\n";
	CHECK_EQ(parse_n(v, sizeof(v) - 1), 1);
	CHECK(cfg_get(&cfg, "net") == 0);
	static const char hi[] = "hostname=caf\xc3\xa9\n\xff\xfe=1\n";
	CHECK_EQ(parse_n(hi, sizeof(hi) - 1), 2);

	/* Random bytes: never crash (ASan watches), and errors are bounded. */
	enum { LEN = 64 * 1024 };
	char *buf = malloc(LEN);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < LEN; i++) {
			unsigned r = (unsigned)check_rand();
			buf[i] = round & 1 ? (char)r : "net=dhcp\n#= \r\tuser:a1."[r % 22];
		}
		unsigned bad = parse_n(buf, LEN);
		CHECK(bad <= (unsigned)LEN);
		CHECK(cfg.count <= CFG_MAX_ENTRIES);
	}
	free(buf);
}

int main(void)
{
	RUN(test_good_file);
	RUN(test_problems_with_line_numbers);
	RUN(test_validators);
	RUN(test_repeatable_user);
	RUN(test_crlf);
	RUN(test_huge_lines);
	RUN(test_binary_garbage);
	return check_done();
}
