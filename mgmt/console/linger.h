/*
 * mgmt/console/linger.h - closing the network console's connections so
 * that clients which never close cannot hold lwIP's few TCP PCBs.
 *
 * A plain tcp_close() leaves the PCB in FIN-WAIT-2 for 20 s while the
 * peer keeps its side open, and lwIP has MEMP_NUM_TCP_PCB of them for
 * everything (the iSCSI sessions too): thirty clients that connect, get
 * closed and never close back would keep every new connection out.
 * linger_close() sends the last output and a FIN (tcp_shutdown of the
 * sending side), keeps the PCB, and resets it after LINGER_US unless the
 * peer closed first.
 */
#ifndef HAKO_LINGER_H
#define HAKO_LINGER_H

struct tcp_pcb;

/*
 * Takes over `pcb` (its callbacks are replaced) and closes it as above.
 * Returns 0, or -1 when it had to abort the PCB at once (no room to
 * track it): from inside that PCB's own lwIP callback the caller must
 * then return ERR_ABRT.
 */
int linger_close(struct tcp_pcb *pcb);

#endif
