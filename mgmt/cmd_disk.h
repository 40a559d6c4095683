/*
 * mgmt/cmd_disk.h - what the `disk` verbs (mgmt/cmd_iscsi.c) lend to
 * `stats NAME`: the latency breakdown of a disk's requests.
 */
#ifndef HAKO_CMD_DISK_H
#define HAKO_CMD_DISK_H

struct shell;
struct blk_lat;

/*
 * One line, "<indent>latency N requests, us mean/p99: kick->queued 3.1/9.0,
 * ..., total 950.2/1800.0"; hops without samples are left out; nothing
 * when no request finished.
 */
void cmd_disk_latency(struct shell *sh, const char *indent, const struct blk_lat *l);

#endif
