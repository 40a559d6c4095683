/*
 * net/lwip/lwipopts.h - lwIP configuration for hako (lwIP doc/porting,
 * src/include/lwip/opt.h for every option's meaning).
 *
 * hako runs lwIP on the service core only, without threads (NO_SYS=1) and
 * through the raw API, so no locking is needed: the NIC pollers, the timers
 * (sys_check_timeouts) and the console all run in the service loop.
 *
 * Sizing: QEMU's slirp does no window scaling, so the best a peer can do is
 * a 64 KiB window; the send buffer and window are just under that, so bulk
 * transfers keep the pipe full, and the receive window stays open because
 * hako consumes data as soon as it arrives (TESTING.md).
 */
#ifndef HAKO_LWIPOPTS_H
#define HAKO_LWIPOPTS_H

#define NO_SYS 1
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_NETIF_API 0

/*
 * Memory: lwIP's own heap (TCP send buffers, copied console output) is
 * allocated from hako's pages when the network starts (net/netif.c), so an
 * unused network costs nothing and the kernel image stays small; the pools
 * are lwIP's static arrays.
 */
#define MEM_LIBC_MALLOC 0
#define MEMP_MEM_MALLOC 0
#define MEM_ALIGNMENT 8
#define MEM_SIZE (1024 * 1024)
extern unsigned char *hako_lwip_heap;
#define LWIP_RAM_HEAP_POINTER hako_lwip_heap
#define MEMP_NUM_PBUF 256
#define MEMP_NUM_TCP_PCB 16
#define MEMP_NUM_TCP_PCB_LISTEN 4
#define MEMP_NUM_TCP_SEG 512
#define MEMP_NUM_UDP_PCB 8
#define MEMP_NUM_SYS_TIMEOUT 16
#define PBUF_POOL_SIZE 192 /* receive buffers: the window plus reassembly */
#define PBUF_POOL_BUFSIZE 1536

/* Protocols. */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 1
#define LWIP_DHCP_DOES_ACD_CHECK 0
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
/* Host names in iSCSI URLs (net/iscsi/tcp.c); the server comes from DHCP
 * or hako.cfg dns= (net/netif.c). */
#define LWIP_DNS 1
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define ARP_QUEUEING 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define LWIP_NETIF_HOSTNAME 1
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1

/* TCP: see the sizing note above. */
#define TCP_MSS 1460
#define TCP_WND (44 * TCP_MSS)
#define TCP_SND_BUF (44 * TCP_MSS)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_SNDLOWAT (TCP_SND_BUF / 2)
#define TCP_OVERSIZE TCP_MSS
#define LWIP_TCP_KEEPALIVE 1
#define TCP_LISTEN_BACKLOG 0
#define LWIP_TCP_TIMESTAMPS 0
#define TCP_QUEUE_OOSEQ 1

/* Checksums are computed in software: none of hako's NIC drivers offloads. */
#define LWIP_CHECKSUM_ON_COPY 0

#define LWIP_STATS 0
#define LWIP_DEBUG 0
#define LWIP_PROVIDE_ERRNO 0
#define LWIP_ERRNO_STDINCLUDE 0
#define LWIP_TIMERS 1

#endif
