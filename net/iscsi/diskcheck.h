/*
 * net/iscsi/diskcheck.h - `disk check`: write pseudo-random blocks to a
 * LUN, read them back and compare, with several tasks in flight. The
 * data is a pure function of (seed, byte offset), so the host can
 * recompute it (tests/unit/iscsi_live.c `pattern`). Portable.
 */
#ifndef HAKO_ISCSI_DISKCHECK_H
#define HAKO_ISCSI_DISKCHECK_H

#include "net/iscsi/exec.h"

#define DISKCHECK_CHUNK (64 * 1024)
#define DISKCHECK_DEPTH 8
#define DISKCHECK_BUF (DISKCHECK_CHUNK * DISKCHECK_DEPTH)

/* The test pattern: 8 bytes for the 8-byte word number `word`. */
uint64_t diskcheck_word(uint64_t seed, uint64_t word);
void diskcheck_fill(uint8_t *buf, uint64_t off, uint32_t len, uint64_t seed);

struct diskcheck {
	struct iscsi_session *s;
	uint64_t lun, size, seed; /* size 0: the whole LUN */
	uint8_t *buf; /* DISKCHECK_BUF bytes */
	iscsi_wait_fn wait;
	void *wait_arg;
	/* called every 10% of each pass: phase is "write" or "verify" */
	void (*progress)(void *arg, const char *phase, uint64_t done, uint64_t total);
	void *progress_arg;
	char why[128]; /* on failure */
	uint64_t bad_offset;
};

/* Runs both passes. 0, -EIO (mismatch or I/O error, see why), -ECANCELED. */
int diskcheck_run(struct diskcheck *dc);

#endif
