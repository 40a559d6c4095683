/*
 * mgmt/cmd_net.h - what the `net` verbs lend to `stats` (mgmt/cmd_net.c).
 */
#ifndef HAKO_CMD_NET_H
#define HAKO_CMD_NET_H

struct shell;

/* Two lines per NIC of a running guest: its switch port's counters and drops. */
void cmd_net_guest_stats(struct shell *sh, const char *guest);

#endif
