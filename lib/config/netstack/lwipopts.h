/*
 * thinvisor: lwIP 2.1 options for the freestanding monitor.
 *
 * Raw API only (NO_SYS=1: no threads, no sockets, no netconn).  The monitor
 * drives lwIP from one context at a time: it calls sys_check_timeouts()
 * periodically and hands received frames to netif->input.  Changing this
 * file makes mk/deps.sh rebuild liblwip.a.
 */
#ifndef THINVISOR_LWIPOPTS_H
#define THINVISOR_LWIPOPTS_H

/* ---- System ------------------------------------------------------------ */
#define NO_SYS                          1
#define LWIP_SOCKET                     0
#define LWIP_NETCONN                    0
#define LWIP_NETIF_API                  0
/* Short critical sections through sys_arch_protect()/sys_arch_unprotect()
 * (memp, pbuf free), so that a frame can be freed from another context. */
#define SYS_LIGHTWEIGHT_PROT            1

/* ---- Memory ------------------------------------------------------------ */
/* Heap allocations (PBUF_RAM, netif data) come from newlib's malloc. */
#define MEM_LIBC_MALLOC                 1
#define MEM_ALIGNMENT                   8
#define MEMP_NUM_PBUF                   32
#define MEMP_NUM_RAW_PCB                4
#define MEMP_NUM_UDP_PCB                8
#define MEMP_NUM_TCP_PCB                8
#define MEMP_NUM_TCP_PCB_LISTEN         4
#define MEMP_NUM_TCP_SEG                64
#define MEMP_NUM_REASSDATA              8
#define MEMP_NUM_FRAG_PBUF              16
#define MEMP_NUM_ARP_QUEUE              16
#define PBUF_POOL_SIZE                  64
/* Room for a full Ethernet frame (1514) plus alignment in one pool pbuf. */
#define PBUF_POOL_BUFSIZE               1536

/* ---- Link layer -------------------------------------------------------- */
#define LWIP_ETHERNET                   1
#define LWIP_ARP                        1
#define ARP_TABLE_SIZE                  16
#define ARP_QUEUEING                    1
#define ETHARP_SUPPORT_STATIC_ENTRIES   1
#define ETH_PAD_SIZE                    0
#define LWIP_NETIF_STATUS_CALLBACK      1
#define LWIP_NETIF_LINK_CALLBACK        1
#define LWIP_NETIF_HOSTNAME             1

/* ---- Network layer ----------------------------------------------------- */
#define LWIP_IPV4                       1
#define LWIP_IPV6                       0
#define IP_FORWARD                      0
#define IP_REASSEMBLY                   1
#define IP_FRAG                         1
#define LWIP_ICMP                       1
#define LWIP_RAW                        1
#define LWIP_IGMP                       0
#define LWIP_AUTOIP                     0
#define LWIP_DHCP                       1
#define LWIP_DNS                        0

/* ---- Transport layer --------------------------------------------------- */
#define LWIP_UDP                        1
#define LWIP_TCP                        1
#define TCP_MSS                         1460
#define TCP_WND                         (16 * TCP_MSS)
#define TCP_SND_BUF                     (16 * TCP_MSS)
#define TCP_SND_QUEUELEN                ((4 * TCP_SND_BUF) / TCP_MSS)
#define LWIP_TCP_KEEPALIVE              1
#define LWIP_ALTCP                      0

/* ---- Checksums, statistics, debugging ---------------------------------- */
#define LWIP_CHKSUM_ALGORITHM           3
#define LWIP_STATS                      0
#define LWIP_STATS_DISPLAY              0
#define LWIP_PERF                       0
/* LWIP_DEBUG is tested with #ifdef: leave it undefined (define it, and
 * LWIP_DBG_TYPES_ON, only for a debugging build). */

#endif /* THINVISOR_LWIPOPTS_H */
