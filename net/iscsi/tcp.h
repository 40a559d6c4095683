/*
 * net/iscsi/tcp.h - the kernel's transport for the portable iSCSI session
 * (net/iscsi/session.h): one lwIP raw-API TCP connection, driven on the
 * service core, and iscsi_open_url(), the one place sessions start. The
 * only iSCSI file that includes lwIP is tcp.c.
 */
#ifndef HAKO_NET_ISCSI_TCP_H
#define HAKO_NET_ISCSI_TCP_H

#include "net/iscsi/exec.h"

struct iscsi_tcp;

/*
 * The one way hako starts an iSCSI session (the shell's verbs, guest disks,
 * the catalog and pool): a session with its transport for the target, or
 * the discovery portal, a parsed iscsi:// URL names (net/iscsi/exec.h),
 * configured with the host-wide settings (hako.cfg `initiator=`,
 * `iscsi_timeout=`), connecting. 0 or -E; free it with iscsi_tcp_free().
 */
int iscsi_open_url(const struct iscsi_url *u, struct iscsi_session **out);
void iscsi_tcp_free(struct iscsi_session *s);
/* Logs out (RFC 7143 11.14) in the background, then frees; see iscsi_tcp.c. */
void iscsi_tcp_logout_free(struct iscsi_session *s);

/*
 * Host-wide settings, from hako.cfg at boot: the initiator IQN (0 keeps
 * iqn.2026-11.org.hako:hako) and the task timeout (0 keeps the session's).
 */
void iscsi_tcp_configure(const char *initiator, uint64_t task_timeout_us);

/* Transport events and iscsi_poll(): for sessions that live on (disks). */
void iscsi_tcp_poll(struct iscsi_session *s);

#endif
