/*
 * net/iscsi/query.h - what the shell asks a target, without waiting:
 * SendTargets discovery (RFC 7143 Appendix C), and a target's LUNs with
 * their INQUIRY and capacity (REPORT LUNS, INQUIRY, READ CAPACITY 16 or
 * 10). A query drives one task at a time on a session its owner started
 * (iscsi_open_url) and polls (iscsi_poll); the owner calls
 * iscsi_query_step() after each poll until it no longer says -EINPROGRESS,
 * then reads the results and ends the session. Nothing here waits, so the
 * shell's `iscsi` verbs finish later (shell_pend) instead of running the
 * service loop inside a wait. Portable.
 */
#ifndef HAKO_ISCSI_QUERY_H
#define HAKO_ISCSI_QUERY_H

#include "net/iscsi/exec.h"

#define ISCSI_QUERY_LUNS 64

enum iscsi_query_kind { ISCSI_QUERY_DISCOVER, ISCSI_QUERY_LUNS_OF };

struct iscsi_lun_info {
	uint64_t lun;
	struct scsi_inquiry inq;
	struct scsi_capacity cap;  /* zero unless a disk */
};

struct iscsi_query {
	enum iscsi_query_kind kind;
	struct iscsi_session *s;
	uint64_t deadline_us;      /* the login's and the answer's */
	/* results */
	int status;                /* -EINPROGRESS while it runs, then 0 or -E... */
	char why[192];             /* with a failure: one sentence */
	struct iscsi_lun_info lun[ISCSI_QUERY_LUNS];
	int nluns;
	/* internal: the one task in flight */
	int step, at, task_done;
	struct iscsi_task t;
	uint8_t buf[8 + 8 * ISCSI_QUERY_LUNS];
};

/* Starts a query on `s` (a discovery session for ISCSI_QUERY_DISCOVER). */
void iscsi_query_start(struct iscsi_query *q, enum iscsi_query_kind kind,
		       struct iscsi_session *s, uint64_t timeout_us);
/* Moves the query on: -EINPROGRESS, or its end (0, or -E... with q->why). */
int iscsi_query_step(struct iscsi_query *q);
/* Stops a query: its task (if any) is abandoned with the session's tasks. */
void iscsi_query_cancel(struct iscsi_query *q);

#endif
