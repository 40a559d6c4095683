/*
 * net/iscsi/tcp.h - the kernel's transport for the portable iSCSI session
 * (net/iscsi/session.h): one lwIP raw-API TCP connection, driven on the
 * service core. Also the blocking helpers the shell verbs use: they run
 * service_poll() while they wait, so they must not be called from inside
 * an lwIP callback (mgmt/console/console.c runs network commands outside them).
 */
#ifndef HAKO_NET_ISCSI_TCP_H
#define HAKO_NET_ISCSI_TCP_H

#include "net/iscsi/exec.h"

struct iscsi_tcp;

/*
 * Allocates a session with its transport, configured from `cfg` plus the
 * host-wide settings (hako.cfg `initiator=`, `iscsi_timeout=`), and starts
 * connecting. 0 or -E; free it with iscsi_tcp_free().
 */
int iscsi_tcp_open(const struct iscsi_config *cfg, struct iscsi_session **out);
void iscsi_tcp_free(struct iscsi_session *s);
/* Logs out (RFC 7143 11.14) in the background, then frees; see iscsi_tcp.c. */
void iscsi_tcp_logout_free(struct iscsi_session *s);

/*
 * Host-wide settings, from hako.cfg at boot: the initiator IQN (0 keeps
 * iqn.2026-11.org.hako:hako) and the task timeout (0 keeps the session's).
 */
void iscsi_tcp_configure(const char *initiator, uint64_t task_timeout_us);
/* Copies them into `cfg`. */
void iscsi_tcp_defaults(struct iscsi_config *cfg);

/* The transport's pending events (data in, connection up or lost) for session `s`. */
void iscsi_tcp_events(struct iscsi_session *s);
/* 0 when called from inside an lwIP callback, where waiting would re-enter lwIP. */
int iscsi_tcp_can_wait(void);
/* The same without reading the serial port (opening a guest's disk). */
int iscsi_tcp_wait_quiet(void *arg);
/* Transport events and iscsi_poll(): for sessions that live on (disks). */
void iscsi_tcp_poll(struct iscsi_session *s);

#endif
