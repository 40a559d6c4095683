/*
 * tests/unit/test_redact.c - secrets out of URLs and control characters
 * out of a target's strings (vmm/core/lib/redact.c; issue 17, findings 8
 * and 11).
 */
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/blk/blk.h"
#include "vmm/core/lib/redact.h"

static const char *masked(const char *url)
{
	static char out[512];
	redact_url(url, out, sizeof(out));
	return out;
}

static void test_userinfo_secret(void)
{
	CHECK_STREQ(masked("iscsi://alice%s3cret@10.0.2.2:3261/iqn.2026-11.x:y/1"),
		    "iscsi://alice%****@10.0.2.2:3261/iqn.2026-11.x:y/1");
	CHECK_STREQ(masked("cow:7:iscsi://u%p@h/iqn.x/1"), "cow:7:iscsi://u%****@h/iqn.x/1");
	/* a secret holding '%' and ':' is masked whole */
	CHECK_STREQ(masked("iscsi://u%a%b:c@h/iqn.x/1"), "iscsi://u%****@h/iqn.x/1");
	/* inside a longer message */
	CHECK_STREQ(masked("catalog: iscsi://u%pw@h/iqn.x/1 (update 4)"),
		    "catalog: iscsi://u%****@h/iqn.x/1 (update 4)");
}

static void test_query_secrets(void)
{
	CHECK_STREQ(masked("iscsi://u%p@h/iqn.x/1?target_user=t&target_password=tsecret"
			   "&header_digest=crc32c"),
		    "iscsi://u%****@h/iqn.x/1?target_user=t&target_password=****"
		    "&header_digest=crc32c");
	CHECK_STREQ(masked("iscsi://h/iqn.x/1?target_password=a%b@c"),
		    "iscsi://h/iqn.x/1?target_password=****");
	/* a key that only ends like a secret one is left alone */
	CHECK_STREQ(masked("iscsi://h/iqn.x/1?not_target_password=x"),
		    "iscsi://h/iqn.x/1?not_target_password=x");
}

static void test_no_secret_unchanged(void)
{
	const char *plain[] = {
		"iscsi://10.0.2.2:3260/iqn.2026-11.org.hako:disk/1",
		"iscsi://alice@h/iqn.x/1", /* a user without a secret */
		"iscsi://h/iqn.x%y/1",     /* '%' outside the user-info */
		"esp:a%b.img",
		"ram:64M",
		"cow:12",
		"iscsi://h/iqn.x/1?header_digest=crc32c&data_digest=none",
		"",
	};
	for (unsigned i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		CHECK_STREQ(masked(plain[i]), plain[i]);
}

static void test_bounded(void)
{
	char out[12];
	CHECK_EQ(redact_url("iscsi://u%secret@h/iqn.x/1", out, sizeof(out)), 11u);
	CHECK_STREQ(out, "iscsi://u%*");
	CHECK_EQ(redact_url("x", out, 0), 0u);
	CHECK_EQ(redact_url("abc", out, 1), 0u);
	CHECK_STREQ(out, "");
}

static void test_control_characters(void)
{
	char out[64], s[64];
	CHECK_EQ(redact_text("iqn.x\x1b]0;pwned\x07\r\n\x9b" "2J", out, sizeof(out)), 20u);
	CHECK_STREQ(out, "iqn.x?]0;pwned????2J");
	CHECK_STREQ((redact_text("plain text: 10.0.2.2:3260,1", out, sizeof(out)), out),
		    "plain text: 10.0.2.2:3260,1");
	strcpy(s, "a\x1b[2Jb\x7f\xff");
	redact_text_inplace(s);
	CHECK_STREQ(s, "a?[2Jb??");
	CHECK_EQ(redact_text("abcdef", out, 4), 3u);
	CHECK_STREQ(out, "abc");
}

/* The block layer's errors quote a bad URL: masked too. */
static void test_block_layer_errors(void)
{
	char err[BLK_ERR_MAX];
	CHECK(blk_url_check("cow:x:iscsi://u%s3cret@h/iqn.x/1", err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "'cow:x:iscsi://u%****@h/iqn.x/1'");
	CHECK(!strstr(err, "s3cret"));
	CHECK(blk_url_check("nosuch://u%s3cret@h/iqn.x/1?target_password=t0p", err,
			    sizeof(err)) < 0);
	CHECK_CONTAINS(err, "unknown disk URL 'nosuch://u%****@h/iqn.x/1?target_password=****'");
	CHECK(!strstr(err, "s3cret") && !strstr(err, "t0p"));
}

int main(void)
{
	RUN(test_userinfo_secret);
	RUN(test_query_secrets);
	RUN(test_no_secret_unchanged);
	RUN(test_bounded);
	RUN(test_control_characters);
	RUN(test_block_layer_errors);
	return check_done();
}
