/*
 * mgmt/cmd_sched.h - what shared cores lend to `stats`, `list` and `host`,
 * and `set NAME weight=N` while a guest runs (mgmt/cmd_sched.c).
 */
#ifndef HAKO_CMD_SCHED_H
#define HAKO_CMD_SCHED_H

struct shell;
struct vm;

/* `stats NAME`: the guest's CPU time (run, wait for a core, halted), then per vCPU. */
void cmd_sched_guest_stats(struct shell *sh, const struct vm *vm);
/* `list`: the guest's CPU time run since its start, in seconds, as "12.3". */
void cmd_sched_cpu_seconds(const struct vm *vm, char *buf, unsigned len);
/* `host`: the time slice, which cores are shared, and each shared core's run queue. */
void cmd_sched_host(struct shell *sh);

/*
 * `set NAME KEY=VALUE...` (argv as the shell split it) of a guest that is
 * not stopped: only weight= may change, and does at once. 0, or -1 with
 * an `error:` line printed and nothing changed.
 */
int cmd_sched_set_running(struct shell *sh, struct vm *vm, int argc, char **argv);

#endif
