/*
 * tests/unit/test_catalog.c - host tests of the guest catalog
 * (mgmt/catalog_fmt.c) and the two-slot store under it
 * (vmm/blk/slotstore.c): the text form round-trips and rejects bad
 * input, and a workload of catalog updates is replayed with the power cut
 * after every single write and flush, each crash image (unflushed writes
 * dropped, torn, or partly kept) loading as exactly the last committed
 * catalog or the one being committed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/audit.h"
#include "mgmt/auth.h"
#include "mgmt/catalog_fmt.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/core/lib/errno.h"

#include "tests/unit/check.h"
#include "tests/unit/fakedisk.h"

static void *host_alloc(uint64_t n) { return calloc(1, n); }
static void host_free(void *p, uint64_t n) { (void)n; free(p); }
static const void *host_file(const char *name, uint64_t *size) { (void)name, (void)size; return 0; }
static const struct blk_host_ops host = { host_alloc, host_free, host_file, 0, 0 };

static struct blockdev *open_dev(const char *url)
{
	char err[160];
	struct blockdev *d = 0;
	CHECK_EQ(blk_sync_open(url, 0, &d, err, sizeof(err)), 0);
	return d;
}

static void def(struct vm_def *d, const char *name, const char *args)
{
	char buf[VM_DEF_LINE_MAX], err[200];
	vm_def_defaults(d, name);
	snprintf(buf, sizeof(buf), "%s", args);
	for (char *w = strtok(buf, " "); w; w = strtok(0, " ")) {
		int rc = vm_def_set_arg(d, w, err, sizeof(err));
		CHECK_EQ(rc, 0);
		if (rc)
			printf("     %s\n", err);
	}
}

static void test_encode_decode(void)
{
	struct vm_def in[3], out[4];
	def(&in[0], "web", "cpus=2 mem=512M kernel=esp:vmlinuz disk=ram:64M disk=esp:d.img,ro");
	def(&in[1], "db", "mac=02:00:00:00:00:01 cmdline=console=ttyS0 net=uplink net=lan:lab vlan=7");
	def(&in[2], "a-1_b", "mem=4M");
	char text[8192], again[8192], err[200];
	int len = catalog_encode(0x5eed, in, 3, text, sizeof(text));
	CHECK(len > 0);
	CHECK_CONTAINS(text, "hako-catalog 2 id=5eed\ndefine web cpus=2 mem=512M kernel=esp:vmlinuz");
	CHECK_CONTAINS(text, "disk=ram:64M disk=esp:d.img,ro");
	CHECK_CONTAINS(text, "mac=02:00:00:00:00:01 net=uplink net=lan:lab vlan=7");
	unsigned n = 0;
	uint64_t id = 0;
	char copy[8192];
	memcpy(copy, text, len);
	CHECK_EQ(catalog_decode(copy, len, &id, out, 4, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(id, 0x5eed);
	CHECK_EQ(catalog_encode(id, out, n, again, sizeof(again)), len);
	CHECK_STREQ(again, text);
	CHECK_EQ(catalog_encode(1, in, 3, text, 40), -E2BIG);
}

/*
 * boot=disk, hostname= and instance-id= are kept; a catalog written before
 * them still reads, its guests' instance ids derived from their names.
 */
static void test_identity_keys(void)
{
	struct vm_def in[1], out[2];
	char text[2048], err[200];
	def(&in[0], "lab", "boot=disk disk=ram:64M hostname=lab-1 instance-id=0123456789abcdef");
	int len = catalog_encode(7, in, 1, text, sizeof(text));
	CHECK_CONTAINS(text, " boot=disk hostname=lab-1 instance-id=0123456789abcdef\n");
	unsigned n = 0;
	uint64_t id = 0;
	CHECK_EQ(catalog_decode(text, (unsigned)len, &id, out, 2, &n, err, sizeof(err)), 0);
	CHECK(n == 1 && out[0].boot_disk && !strcmp(out[0].hostname, "lab-1") &&
	      !strcmp(out[0].instance_id, "0123456789abcdef"));
	char old[] = "hako-catalog 1\ndefine web cpus=1 mem=256M kernel=esp:vmlinuz "
		     "cmdline=\"console=ttyS0\" disk=ram:64M\n";
	CHECK_EQ(catalog_decode(old, sizeof(old) - 1, &id, out, 2, &n, err, sizeof(err)), 0);
	char id1[VM_INSTANCE_MAX + 1], id2[VM_INSTANCE_MAX + 1];
	vm_def_instance(&out[0], id1, sizeof(id1));
	vm_def_instance(&out[0], id2, sizeof(id2));
	CHECK(n == 1 && !out[0].boot_disk && !out[0].instance_id[0] && strlen(id1) == 16 &&
	      !strcmp(id1, id2));
}
static uint64_t decoded_id;

static int decode_str(const char *s, char *err)
{
	char buf[512];
	struct vm_def out[2];
	unsigned n;
	snprintf(buf, sizeof(buf), "%s", s);
	return catalog_decode(buf, strlen(buf), &decoded_id, out, 2, &n, err, 200);
}

static void test_decode_rejects(void)
{
	char err[200];
	CHECK_EQ(decode_str("hako-catalog 1\n", err), 0);
	CHECK_EQ(decoded_id, 0);                   /* version 1: no identity yet */
	CHECK_EQ(decode_str("hako-catalog 2 id=fedcba9876543210\ndefine a\n", err), 0);
	CHECK_EQ(decoded_id, 0xfedcba9876543210ull);
	CHECK_EQ(decode_str("", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 3\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 2\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 2 id=\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 2 id=0\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 2 id=12g\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 2 id=1fedcba9876543210\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 2 id=A\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 3 id=1\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 1\ndefine web cpus=1", err), -EINVAL);
	CHECK_CONTAINS(err, "cut short");
	CHECK_EQ(decode_str("hako-catalog 1\ndefine web cpus=99\n", err), -EINVAL);
	CHECK_CONTAINS(err, "cpus");
	CHECK_EQ(decode_str("hako-catalog 1\ndefine Web\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 1\nundefine web\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 1\ndefine a\ndefine a\n", err), -EINVAL);
	CHECK_CONTAINS(err, "twice");
	CHECK_EQ(decode_str("hako-catalog 1\ndefine a\ndefine b\ndefine c\n", err), -EINVAL);
	CHECK_EQ(decode_str("hako-catalog 1\ndefine a cmdline=\"x\n", err), -EINVAL);
	char nul[] = "hako-catalog 1\ndefine a\0\n";
	struct vm_def out[2];
	unsigned n;
	CHECK_EQ(catalog_decode(nul, sizeof(nul) - 1, &decoded_id, out, 2, &n, err, 200), -EINVAL);
}

/* A catalog written before accounts (issue 16) loads; its guests are the administrators'. */
static void test_old_catalog(void)
{
	char text[] = "hako-catalog 1\ndefine web cpus=2 mem=512M disk=ram:64M\n";
	struct vm_def out[2];
	unsigned n = 0;
	uint64_t id = 0;
	char err[200] = "";
	CHECK_EQ(catalog_decode(text, sizeof(text) - 1, &id, out, 2, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 1);
	CHECK_STREQ(out[0].owner, "");
	CHECK_EQ(out[0].template_public, 0);
	CHECK_EQ(audit_count(), 0);
}

/* Accounts, quotas, owners, templates and the audit ring round-trip through the text. */
static void test_users_round_trip(void)
{
	static const char hash[] = "pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$"
				   "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f";
	CHECK_EQ(auth_set("root", hash), 0);            /* hako.cfg's: not in the catalog */
	CHECK_EQ(auth_add("alice", hash, 0), 0);
	CHECK_EQ(auth_add("prof", hash, 1), 0);
	CHECK_EQ(auth_add("alice", hash, 0), -EEXIST);
	auth_get("alice")->quota.guests = 4;
	auth_get("alice")->quota.mem = 64ull << 20;
	audit_add(1764770000, "alice", "clone web a1: ok");
	audit_add(1764770001, "", "define web: ok");
	struct vm_def in[2], out[3];
	def(&in[0], "web", "disk=ram:1M template=public");
	def(&in[1], "a1", "owner=alice");
	static char text[CATALOG_SLOT_BYTES], again[CATALOG_SLOT_BYTES], copy[CATALOG_SLOT_BYTES];
	char err[200] = "";
	int len = catalog_encode(0x5eed, in, 2, text, sizeof(text));
	CHECK(len > 0);
	CHECK_CONTAINS(text, "define web cpus=1 mem=256M cmdline=\"console=ttyS0\" disk=ram:1M template=public\n");
	CHECK_CONTAINS(text, "owner=alice\nuser alice user pbkdf2-sha256$1000$");
	CHECK_CONTAINS(text, " mem=67108864 guests=4\n");   /* only what was set, in key order */
	CHECK_CONTAINS(text, "\nuser prof admin ");
	CHECK_CONTAINS(text, "\naudit 1764770000 alice clone web a1: ok\naudit 1764770001 - define web: ok\n");
	CHECK(!strstr(text, "user root"));
	/* Read back into an empty table: what came from the catalog comes back. */
	CHECK_EQ(auth_del("alice"), 0);
	audit_clear();
	unsigned n = 0;
	uint64_t id = 0;
	memcpy(copy, text, len);
	CHECK_EQ(catalog_decode(copy, len, &id, out, 3, &n, err, sizeof(err)), 0);
	CHECK_EQ(id, 0x5eed);
	CHECK_EQ(n, 2);
	CHECK_STREQ(out[1].owner, "alice");
	CHECK_EQ(out[0].template_public, 1);
	CHECK(auth_get("alice") && !auth_is_admin("alice") && auth_is_admin("prof"));
	CHECK_EQ(auth_get("alice")->quota.guests, 4);
	CHECK_EQ(auth_get("alice")->quota.cpus, AUTH_QUOTA_DEFAULT);
	CHECK_EQ(auth_login("alice", "x"), -EPERM);
	CHECK_EQ(audit_count(), 2);
	CHECK_STREQ(audit_nth(0)->text, "clone web a1: ok");
	CHECK_STREQ(audit_nth(1)->user, "");
	CHECK_EQ(catalog_encode(id, out, n, again, sizeof(again)), len);
	CHECK_STREQ(again, text);
	/* Bad account or audit lines: the whole catalog is refused, nothing half-loaded. */
	char *bad[] = { "hako-catalog 2 id=1\nuser alice boss HASH\n",
			"hako-catalog 2 id=1\nuser Alice user pbkdf2-sha256$1$00$00\n",
			"hako-catalog 2 id=1\nuser bob user nothash\n",
			"hako-catalog 2 id=1\nuser bob user pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$"
			"000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f guests=lots\n",
			"hako-catalog 2 id=1\naudit x alice start\n",
			"hako-catalog 2 id=1\naudit 12 alice\n",
			"hako-catalog 2 id=1\nhello\n" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(copy, sizeof(copy), "%s", bad[i]);
		CHECK_EQ(catalog_decode(copy, strlen(copy), &id, out, 3, &n, err, sizeof(err)), -EINVAL);
		CHECK(!auth_get("alice") && !auth_get("bob") && audit_count() == 0);
		CHECK(auth_get("root") != 0);
	}
	/* The ring keeps the newest AUDIT_MAX entries. */
	for (unsigned i = 0; i < AUDIT_MAX + 5; i++) {
		snprintf(err, sizeof(err), "start g%u: ok\n", i);
		audit_add(i, "bob", err);
	}
	CHECK_EQ(audit_count(), AUDIT_MAX);
	CHECK_STREQ(audit_nth(0)->text, "start g5: ok ");   /* the newline became a space */
	audit_clear();
	CHECK_EQ(auth_del("root"), 0);
	CHECK(!auth_get("prof"));     /* the refused catalog took the stored accounts along */
}

/* A failed command's entry is taken back: removed while newest, else marked failed. */
static void test_audit_undo(void)
{
	audit_clear();
	uint64_t a = audit_add(1, "alice", "define a: ok");
	audit_saved();
	uint64_t b = audit_add(2, "bob", "set b: ok");
	CHECK(audit_dirty());
	audit_undo(b);
	CHECK_EQ(audit_count(), 1);
	CHECK(!audit_dirty());                       /* nothing new to write */
	b = audit_add(3, "bob", "start b: ok");
	audit_undo(a);                               /* not the newest any more */
	CHECK_EQ(audit_count(), 2);
	CHECK_STREQ(audit_nth(0)->text, "define a: failed");
	CHECK_STREQ(audit_nth(1)->text, "start b: ok");
	for (unsigned i = 0; i < AUDIT_MAX - 2; i++)
		audit_add(10 + i, "bob", "x: ok");
	CHECK_EQ(audit_count(), AUDIT_MAX);
	uint64_t c = audit_add(99, "carol", "clone t c: ok");   /* pushes "define a" out */
	CHECK_STREQ(audit_nth(0)->text, "start b: ok");
	audit_undo(c);                                          /* and it comes back */
	CHECK_STREQ(audit_nth(0)->text, "define a: failed");
	CHECK_EQ(audit_count(), AUDIT_MAX);
	audit_undo(a + 1000);                                   /* unknown: nothing happens */
	CHECK_EQ(audit_count(), AUDIT_MAX);
	audit_clear();
}

/* ---- the power-cut replay ---- */

#define STATES 12
#define CAT_ID 0xc0ffee
static struct vm_def states[STATES + 1][CATALOG_GUESTS_MAX];
static unsigned state_n[STATES + 1];
static char state_text[STATES + 1][CATALOG_SLOT_BYTES];

/* State 0 is blank; each next one is one shell action away from the last. */
static void build_states(void)
{
	char args[400];
	for (unsigned s = 1; s <= STATES; s++) {
		memcpy(states[s], states[s - 1], sizeof(states[s]));
		state_n[s] = state_n[s - 1];
		if (s <= 9) {           /* define g1..g9, big enough to span blocks */
			snprintf(args, sizeof(args), "cpus=%u disk=ram:%uM cmdline=console=ttyS0_hostname=g%u_"
				 "%0200u", s % 8 + 1, s, s, s);
			char name[8];
			snprintf(name, sizeof(name), "g%u", s);
			def(&states[s][state_n[s]++], name, args);
		} else if (s == 10) {   /* set g3 */
			states[s][2].cpus = 4;
		} else if (s == 11) {   /* undefine g1 */
			memmove(&states[s][0], &states[s][1], (state_n[s] - 1) * sizeof(struct vm_def));
			state_n[s]--;
		} else {                /* undefine everything */
			state_n[s] = 0;
		}
	}
	for (unsigned s = 0; s <= STATES; s++)
		CHECK(catalog_encode(CAT_ID, states[s], state_n[s], state_text[s], CATALOG_SLOT_BYTES) > 0);
}

struct expect { unsigned committed; unsigned images, bad; };

static void check_image(const uint8_t *img, void *ctx)
{
	struct expect *e = ctx;
	const struct fake_disk *src = &fake_disks[0];
	fake_setup(1, src->bs, src->blocks, img);
	struct blockdev *d = open_dev("fake:1");
	struct slotstore s;
	struct vm_def out[CATALOG_GUESTS_MAX];
	unsigned n = 0;
	uint64_t id;
	char err[200] = "", text[CATALOG_SLOT_BYTES];
	catalog_store_init(&s, d);
	int rc = catalog_store_load(&s, &id, out, CATALOG_GUESTS_MAX, &n, err, sizeof(err));
	int ok;
	if (rc == -ENOENT)
		ok = e->committed == 0;
	else {
		ok = rc == 0 && catalog_encode(id, out, n, text, sizeof(text)) > 0 &&
		     (!strcmp(text, state_text[e->committed]) ||
		      (e->committed < STATES && !strcmp(text, state_text[e->committed + 1])));
	}
	e->images++;
	if (!ok && e->bad++ == 0)
		printf("     committed %u: load gave %d (%s)\n", e->committed, rc, err);
	blk_close(d);
}

/* Runs the workload on a blank fake:0 with power cut after `cut` ops. */
static unsigned run_workload(long cut, uint32_t bs)
{
	struct fake_disk *f = fake_setup(0, bs, 1024 * 512 / bs, 0);
	f->cut_at = cut;
	struct blockdev *d = open_dev("fake:0");
	struct slotstore s;
	CHECK_EQ(catalog_store_init(&s, d), 0);
	unsigned committed = 0;
	for (unsigned i = 1; i <= STATES; i++) {
		if (catalog_store_save(&s, CAT_ID, states[i], state_n[i]))
			break;
		committed = i;
	}
	blk_close(d);
	return committed;
}

static void power_cut_replay(uint32_t bs)
{
	run_workload(-1, bs);
	long total = fake_disks[0].ops;
	CHECK_EQ(total, 4 * STATES);   /* payload, flush, header, flush per save */
	struct expect e = { 0, 0, 0 };
	for (long cut = 1; cut <= total; cut++) {
		e.committed = run_workload(cut, bs);
		CHECK(e.committed < STATES || cut == total);
		CHECK(fake_disks[0].cut);
		fake_crash_images(&fake_disks[0], check_image, &e);
	}
	CHECK_EQ(e.bad, 0);
	CHECK(e.images > (unsigned)total * 3);
	printf("     %ld cut points, %u crash images at %u-byte blocks\n", total, e.images, bs);
}

static void test_power_cut_512(void) { power_cut_replay(512); }
static void test_power_cut_4096(void) { power_cut_replay(4096); }

/* A corrupted newest slot falls back to the older one; a foreign version is refused. */
static void test_fallback_and_version(void)
{
	fake_setup(0, 512, 1024, 0);
	struct blockdev *d = open_dev("fake:0");
	struct slotstore s;
	struct vm_def out[CATALOG_GUESTS_MAX];
	unsigned n;
	uint64_t id;
	char err[200];
	catalog_store_init(&s, d);
	CHECK_EQ(catalog_store_save(&s, CAT_ID, states[1], state_n[1]), 0);
	CHECK_EQ(catalog_store_save(&s, CAT_ID, states[2], state_n[2]), 0);
	CHECK_EQ(s.cur, 1);
	fake_disks[0].cache[s.slot_blocks * 512 + 512 + 20] ^= 1;   /* a payload byte of slot 1 */
	CHECK_EQ(catalog_store_load(&s, &id, out, CATALOG_GUESTS_MAX, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, state_n[1]);
	CHECK_EQ(s.seq, 1);
	CHECK_EQ(catalog_store_save(&s, CAT_ID, states[3], state_n[3]), 0);  /* overwrites the bad slot */
	CHECK_EQ(s.seq, 2);
	CHECK_EQ(catalog_store_load(&s, &id, out, CATALOG_GUESTS_MAX, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, state_n[3]);
	s.version = 2;
	CHECK_EQ(catalog_store_load(&s, &id, out, CATALOG_GUESTS_MAX, &n, err, sizeof(err)), -ENOTSUP);
	blk_close(d);
	fake_setup(0, 512, 200, 0);                                  /* 100 KiB: too small */
	d = open_dev("fake:0");
	CHECK_EQ(catalog_store_init(&s, d), -ENOSPC);
	blk_close(d);
}

/*
 * A commit whose last flush reports an error after the device did its
 * work (a connection lost before the reply) leaves the new record
 * durable while the caller, told it failed, undoes its change: the header
 * is retracted so the device holds the old record, as the caller
 * believes. When even the retraction fails the store says it is unsure,
 * and the next commit settles it.
 */
static void test_commit_error_after_header(void)
{
	struct fake_disk *f = fake_setup(0, 512, 1024, 0);
	struct blockdev *d = open_dev("fake:0");
	struct slotstore s;
	struct vm_def out[CATALOG_GUESTS_MAX];
	unsigned n;
	uint64_t id;
	char err[200];
	catalog_store_init(&s, d);
	CHECK_EQ(catalog_store_save(&s, CAT_ID, states[1], state_n[1]), 0);
	f->fail_from = 8, f->fail_to = 9, f->fail_lands = 1;   /* save 2's final flush */
	CHECK_EQ(catalog_store_save(&s, CAT_ID, states[2], state_n[2]), -EIO);
	CHECK_EQ(s.unsure, 0);
	struct slotstore t;
	catalog_store_init(&t, d);
	CHECK_EQ(catalog_store_load(&t, &id, out, CATALOG_GUESTS_MAX, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, state_n[1]);                   /* what the caller believes */
	memcpy(f->durable, f->cache, 1024 * 512);  /* and it is durable */
	/* the header, its flush and the retraction all fail (after landing) */
	f->fail_from = f->ops + 3, f->fail_to = f->ops + 7;
	CHECK_EQ(catalog_store_save(&s, CAT_ID, states[3], state_n[3]), -EIO);
	CHECK_EQ(s.unsure, 1);
	f->fail_to = 0;
	CHECK_EQ(catalog_store_save(&s, CAT_ID, states[4], state_n[4]), 0);
	CHECK_EQ(s.unsure, 0);
	CHECK_EQ(catalog_store_load(&t, &id, out, CATALOG_GUESTS_MAX, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, state_n[4]);
	blk_close(d);
}

/* Only a zeroed device, or one holding a first write cut short, becomes a catalog. */
static void test_blank_device(void)
{
	struct fake_disk *f = fake_setup(0, 512, 1024, 0);
	struct blockdev *d = open_dev("fake:0");
	struct slotstore s;
	catalog_store_init(&s, d);
	CHECK_EQ(catalog_store_blank(&s), 1);
	memcpy(f->cache + 512, "hako-catalog 2 id=1\n", 20);   /* payload of a cut first write */
	CHECK_EQ(catalog_store_blank(&s), 1);
	f->cache[s.slot_blocks * 512 + 7] = 1;                 /* slot 1's header: not blank */
	CHECK_EQ(catalog_store_blank(&s), 0);
	f->cache[s.slot_blocks * 512 + 7] = 0;
	f->cache[100000] = 0x55;                               /* any other data: not blank */
	memset(f->cache + 512, 0, 20);
	CHECK_EQ(catalog_store_blank(&s), 0);
	blk_close(d);
}

int main(void)
{
	blk_set_host(&host);
	RUN(test_encode_decode);
	RUN(test_identity_keys);
	RUN(test_decode_rejects);
	RUN(test_old_catalog);
	RUN(test_users_round_trip);
	RUN(test_audit_undo);
	build_states();
	RUN(test_power_cut_512);
	RUN(test_power_cut_4096);
	RUN(test_fallback_and_version);
	RUN(test_commit_error_after_header);
	RUN(test_blank_device);
	return check_done();
}
