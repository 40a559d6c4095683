/*
 * net/iscsi/diskcheck.c - write, read back and verify a LUN through an
 * iSCSI session (READ(16)/WRITE(16), SYNCHRONIZE CACHE between the
 * passes). Portable.
 */
#include "net/iscsi/diskcheck.h"

#include "vmm/lib/errno.h"
#include "vmm/lib/fmt.h"
#include "vmm/lib/string.h"

/* splitmix64 of the word number and seed. */
uint64_t diskcheck_word(uint64_t seed, uint64_t word)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + word + 1;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* `off` and `len` are multiples of 8 (whole blocks). */
void diskcheck_fill(uint8_t *buf, uint64_t off, uint32_t len, uint64_t seed)
{
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t w = diskcheck_word(seed, (off + i) / 8);
		memcpy(buf + i, &w, 8);
	}
}

struct slot {
	struct iscsi_task t;
	uint64_t off;
	int state; /* 0 idle, 1 busy, 2 done */
};

static void slot_done(struct iscsi_task *t)
{
	((struct slot *)t->arg)->state = 2;
}

static int check_chunk(struct diskcheck *dc, struct slot *sl)
{
	const uint8_t *p = sl->t.buf;
	for (uint32_t i = 0; i < sl->t.len; i += 8) {
		uint64_t w = diskcheck_word(dc->seed, (sl->off + i) / 8), got;
		memcpy(&got, p + i, 8);
		if (got != w) {
			dc->bad_offset = sl->off + i;
			fmt_snprintf(dc->why, sizeof(dc->why), "data differs at byte %llu",
				     (unsigned long long)dc->bad_offset);
			return -EIO;
		}
	}
	return 0;
}

static int issue(struct diskcheck *dc, struct slot *sl, int write, uint64_t off, uint32_t bs,
		 uint8_t *buf)
{
	memset(&sl->t, 0, sizeof(sl->t));
	sl->off = off, sl->state = 1;
	sl->t.lun = dc->lun, sl->t.buf = buf, sl->t.len = DISKCHECK_CHUNK;
	if (dc->size - off < DISKCHECK_CHUNK)
		sl->t.len = (uint32_t)(dc->size - off);
	sl->t.dir = write ? ISCSI_DIR_WRITE : ISCSI_DIR_READ;
	sl->t.done = slot_done, sl->t.arg = sl;
	if (write)
		diskcheck_fill(buf, off, sl->t.len, dc->seed);
	scsi_cdb_rw16(sl->t.cdb, write, off / bs, sl->t.len / bs);
	return iscsi_submit(dc->s, &sl->t);
}

/* One task finished: its error, a short transfer, or a data mismatch. */
static int reap(struct diskcheck *dc, struct slot *sl, int write)
{
	sl->state = 0;
	if (sl->t.result) {
		fmt_snprintf(dc->why, sizeof(dc->why), "%s at byte %llu: %s (%s)",
			     write ? "write" : "read", (unsigned long long)sl->off,
			     errno_str(sl->t.result), sl->t.message);
		return sl->t.result;
	}
	if (sl->t.residual) {
		fmt_snprintf(dc->why, sizeof(dc->why), "short transfer at byte %llu",
			     (unsigned long long)sl->off);
		return -EIO;
	}
	return write ? 0 : check_chunk(dc, sl);
}

static int pass(struct diskcheck *dc, int write, uint32_t bs)
{
	struct slot sl[DISKCHECK_DEPTH];
	uint64_t next = 0, done = 0, shown = 0;
	int err = 0;
	memset(sl, 0, sizeof(sl));
	while (done < dc->size && !err) {
		for (int i = 0; i < DISKCHECK_DEPTH && next < dc->size && !err; i++)
			if (!sl[i].state) {
				err = issue(dc, &sl[i], write, next, bs, dc->buf + i * DISKCHECK_CHUNK);
				next += sl[i].t.len;
			}
		if (!err && dc->wait(dc->wait_arg))
			err = -ECANCELED;
		iscsi_poll(dc->s);
		for (int i = 0; i < DISKCHECK_DEPTH && !err; i++)
			if (sl[i].state == 2 && !(err = reap(dc, &sl[i], write)))
				done += sl[i].t.len;
		if (dc->progress && done * 10 / dc->size > shown) {
			shown = done * 10 / dc->size;
			dc->progress(dc->progress_arg, write ? "write" : "verify", done, dc->size);
		}
	}
	if (err) {
		if (err == -ECANCELED)
			fmt_snprintf(dc->why, sizeof(dc->why), "interrupted");
		iscsi_abort_all(dc->s, -ECANCELED, "disk check stopped");
	}
	return err;
}

int diskcheck_run(struct diskcheck *dc)
{
	struct scsi_capacity cap;
	int err = iscsi_cmd_capacity(dc->s, dc->lun, &cap, dc->wait, dc->wait_arg, dc->why,
				     sizeof(dc->why));
	if (err)
		return err;
	uint64_t bytes = cap.blocks * cap.block_size;
	if (!dc->size)
		dc->size = bytes;
	if (dc->size > bytes || dc->size % cap.block_size || cap.block_size % 8 ||
	    DISKCHECK_CHUNK % cap.block_size) {
		fmt_snprintf(dc->why, sizeof(dc->why),
			     "size must be whole %u-byte blocks and at most the LUN's %llu bytes",
			     cap.block_size, (unsigned long long)bytes);
		return -EINVAL;
	}
	if ((err = pass(dc, 1, cap.block_size)))
		return err;
	if ((err = iscsi_cmd_sync_cache(dc->s, dc->lun, dc->wait, dc->wait_arg))) {
		fmt_snprintf(dc->why, sizeof(dc->why), "SYNCHRONIZE CACHE failed");
		return err;
	}
	return pass(dc, 0, cap.block_size);
}
