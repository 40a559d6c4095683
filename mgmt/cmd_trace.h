/*
 * mgmt/cmd_trace.h - what the `trace` verb lends to `stats` (mgmt/cmd_trace.c).
 */
#ifndef HAKO_CMD_TRACE_H
#define HAKO_CMD_TRACE_H

struct shell;
struct vm;

/* One line per exit kind the guest had: mean and maximum TSC cycles hako spent on it. */
void cmd_trace_exit_costs(struct shell *sh, const struct vm *vm);

#endif
