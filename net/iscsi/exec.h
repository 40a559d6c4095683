/*
 * net/iscsi/exec.h - synchronous helpers over an iSCSI session for the
 * shell verbs and host tools: run one task to completion while a caller-
 * supplied `wait` function drives the transport and iscsi_poll(), and the
 * common queries (INQUIRY, REPORT LUNS, READ CAPACITY 16 with 10 as
 * fallback, TEST UNIT READY, SYNCHRONIZE CACHE), plus the iscsi:// URL
 * parser. Portable.
 */
#ifndef HAKO_ISCSI_EXEC_H
#define HAKO_ISCSI_EXEC_H

#include "net/iscsi/scsi.h"
#include "net/iscsi/session.h"

/*
 * Drives the world once: poll the transport (feeding received bytes to the
 * session) and call iscsi_poll(). Returns non-zero to give up (Ctrl-C).
 */
typedef int (*iscsi_wait_fn)(void *arg);

/* Runs `t` (done is set here) and waits for it. Returns t->result or -ECANCELED. */
int iscsi_exec(struct iscsi_session *s, struct iscsi_task *t, iscsi_wait_fn wait, void *arg);
/* A login that has not succeeded after this many refused connections fails. */
#define ISCSI_REFUSED_TRIES 3
/* Where a login stands: 0, -EINPROGRESS, or why it fails (see exec.c). */
int iscsi_login_status(const struct iscsi_session *s, uint64_t deadline_us);
/* Waits until the session reached full feature phase or failed. */
int iscsi_wait_login(struct iscsi_session *s, uint64_t timeout_us, iscsi_wait_fn wait, void *arg);

/*
 * The same commands for callers that do not wait (a LUN opening for a
 * guest): fill a task, submit it with iscsi_submit(), read the answer in
 * its done callback.
 */
#define ISCSI_CAPACITY_BUF 32
void iscsi_task_tur(struct iscsi_task *t, uint64_t lun);
void iscsi_task_capacity(struct iscsi_task *t, uint64_t lun, uint8_t *buf, int use10);
int iscsi_capacity_result(const struct iscsi_task *t, const uint8_t *buf, int use10,
			  struct scsi_capacity *cap, char *why, size_t n);

int iscsi_cmd_tur(struct iscsi_session *s, uint64_t lun, iscsi_wait_fn w, void *a, char *why,
		  size_t n);
int iscsi_cmd_inquiry(struct iscsi_session *s, uint64_t lun, struct scsi_inquiry *inq,
		      iscsi_wait_fn w, void *a);
int iscsi_cmd_report_luns(struct iscsi_session *s, uint64_t *luns, int max, iscsi_wait_fn w,
			  void *a);
int iscsi_cmd_capacity(struct iscsi_session *s, uint64_t lun, struct scsi_capacity *cap,
		       iscsi_wait_fn w, void *a, char *why, size_t n);
int iscsi_cmd_sync_cache(struct iscsi_session *s, uint64_t lun, iscsi_wait_fn w, void *a);

/* iscsi://[USER[%SECRET]@]HOST[:PORT]/IQN/LUN (the libiscsi/QEMU form). */
struct iscsi_url {
	char user[ISCSI_SECRET_MAX], secret[ISCSI_SECRET_MAX];
	char host[ISCSI_HOST_MAX];
	uint16_t port;
	char target[ISCSI_NAME_MAX];
	uint64_t lun;
	int has_lun;
};
/* Returns 0 or -EINVAL with `why` naming the bad part. LUN optional when !need_lun. */
int iscsi_url_parse(const char *s, int need_lun, struct iscsi_url *u, const char **why);
/* HOST[:PORT] (port defaults to 3260). */
int iscsi_hostport_parse(const char *s, char *host, size_t hn, uint16_t *port);

#endif
