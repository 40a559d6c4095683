/*
 * mgmt/policy.h - who may do what (issue 16). The serial console and
 * administrators' network sessions may do everything; a user sees and
 * acts on their own guests only (a guest of someone else's is refused
 * exactly as one that does not exist), may clone public templates, and
 * stays within their quota. Host-wide verbs are the administrators'.
 * Every shell command passes policy_allow() first (shell_set_guard) and
 * the audited ones leave an entry in the audit log (mgmt/audit.h).
 */
#ifndef HAKO_POLICY_H
#define HAKO_POLICY_H

#include "mgmt/shell/shell.h"
#include "vmm/vm.h"

/* The account a session acts as: its user, or "" on the serial console. */
const char *policy_user(const struct shell *sh);

/*
 * 1 when session sh may see and act on guest vm: an administrator (or
 * the serial console) on any guest, a user on the guests they own. Verbs
 * that name a guest call this (the shell guard does for the verbs of
 * shared/CLI.md; `debug` and `trace` are in its table too) and answer a
 * 0 with the error they give for an unknown guest.
 */
int may_act(const struct shell *sh, const struct vm *vm);

/* The error line for a guest sh may not see (the same as for one that does not exist). */
int policy_no_guest(struct shell *sh, const char *name);

/* The owner a guest defined or cloned by the running command gets (its session's user). */
const char *policy_actor(void);

/* Adds an audit entry for sh: "TEXT" by its user, now. */
void policy_audit(struct shell *sh, const char *text);

/* Seconds since 1970 (UTC) by the host's clock, or 0 when it was unreadable. */
uint64_t policy_now(void);
/* "YYYY-MM-DD HH:MM:SS" (UTC) of an epoch into buf (20 bytes), or "-" for 0. */
void policy_time_str(uint64_t epoch, char *buf, unsigned len);

/* Installs the shell guard (boot, before any console takes input). */
void policy_init(void);

#endif
