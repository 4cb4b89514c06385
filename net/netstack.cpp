#include "net/netstack.hpp"

#include <stdio.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "netif/ethernet.h"
#include "net/frame_check.hpp"
#include "net/log_backlog.hpp"
#include "net/net_log.hpp"
#include "net/syslog_format.hpp"
#include "net/udp_socket.hpp"

namespace tv::net {

namespace {

// Per tick: enough to drain a boot's backlog in well under a second at a 10 ms tick, small
// enough that one exit never carries more than a few milliseconds of monitor work.
constexpr u32 kSyslogBudget = 16;
constexpr u32 kArpRetryMs = 1000;
constexpr size_t kMaxFrame = 9018;
constexpr size_t kMinFrame = 60;  // Ethernet minimum without FCS: pad, whatever the NIC does

struct Stack {
    netif nif;
    nic::FramePort* port;
    NetSettings cfg;
    udp_pcb* syslog;
    u32 syslog_seq;
    u64 dropped_reported;
    u32 last_arp_ms;
    bool arp_sent;
    bool started;
    bool lwip_ready;
    char hostname[32];
    NetCounters n;
};

constinit LogBacklog g_backlog{};
constinit Stack g_s{};
constinit u8 g_tx_buf[kMaxFrame]{};

// A refused frame is logged the first few times and then every power of two: a flood of
// garbage costs a counter, not the log.
bool worth_logging(u64 count) { return count <= 8 || (count & (count - 1)) == 0; }

void rx(void*, u8 const* frame, size_t len) {
    if (!g_s.started) return;  // a start that failed half-way may have left a receiver
    FrameVerdict const v = frame_check(frame, len, g_s.port->mtu());
    if (v != FrameVerdict::Ok) {
        ++g_s.n.rx_refused;
        if (worth_logging(g_s.n.rx_refused))
            // No %zu: the monitor's newlib printf lacks the C99 length modifiers.
            net_log("net: refused a %lu-byte frame: %s (%llu refused so far)", static_cast<unsigned long>(len),
                    frame_verdict_name(v), static_cast<unsigned long long>(g_s.n.rx_refused));
        return;
    }
    pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(len), PBUF_POOL);
    if (!p) {
        ++g_s.n.rx_no_buffer;
        return;
    }
    if (pbuf_take(p, frame, static_cast<u16_t>(len)) != ERR_OK || g_s.nif.input(p, &g_s.nif) != ERR_OK) {
        pbuf_free(p);
        return;
    }
    ++g_s.n.rx_frames;
}

err_t link_output(netif*, pbuf* p) {
    size_t len = p->tot_len;
    if (len > sizeof g_tx_buf || pbuf_copy_partial(p, g_tx_buf, p->tot_len, 0) != p->tot_len) {
        ++g_s.n.tx_dropped;
        return ERR_BUF;
    }
    if (len < kMinFrame) {
        memset(g_tx_buf + len, 0, kMinFrame - len);
        len = kMinFrame;
    }
    // Never poll here to make room: a poll delivers frames into lwIP, which is mid-output.
    if (!ok(g_s.port->send(g_tx_buf, len))) {
        ++g_s.n.tx_dropped;
        return ERR_MEM;
    }
    ++g_s.n.tx_frames;
    return ERR_OK;
}

err_t netif_setup(netif* n) {
    nic::MacAddr const mac = g_s.port->mac();
    n->name[0] = 't';
    n->name[1] = 'v';
    n->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(n->hwaddr, mac.b, ETH_HWADDR_LEN);
    n->mtu = static_cast<u16_t>(g_s.port->mtu());
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    n->output = etharp_output;
    n->linkoutput = link_output;
    netif_set_hostname(n, g_s.hostname);
    return ERR_OK;
}

void status_changed(netif* n) {
    char a[16], m[16], g[16];
    ip4addr_ntoa_r(netif_ip4_addr(n), a, sizeof a);
    ip4addr_ntoa_r(netif_ip4_netmask(n), m, sizeof m);
    ip4addr_ntoa_r(netif_ip4_gw(n), g, sizeof g);
    if (ip4_addr_isany_val(*netif_ip4_addr(n))) {
        net_log("net: no address (%s)", g_s.cfg.dhcp ? "DHCP in progress" : "interface down");
        return;
    }
    net_log("net: address %s netmask %s gateway %s (%s), hostname %s", a, m, g,
            g_s.cfg.dhcp ? "DHCP lease" : "static", g_s.hostname);
}

void set_hostname(nic::MacAddr const& mac) {
    static constexpr char kHex[] = "0123456789abcdef";
    memcpy(g_s.hostname, "thinvisor-", 10);
    for (u32 i = 0; i < 6; ++i) {
        g_s.hostname[10 + 2 * i] = kHex[mac.b[i] >> 4];
        g_s.hostname[11 + 2 * i] = kHex[mac.b[i] & 0xF];
    }
    g_s.hostname[22] = '\0';
}

bool has_address() {
    return g_s.started && netif_is_up(&g_s.nif) && netif_is_link_up(&g_s.nif) &&
           !ip4_addr_isany_val(*netif_ip4_addr(&g_s.nif));
}

// True when the next hop toward the syslog host has a MAC. lwIP would queue the datagrams
// behind an ARP query, but only ARP_QUEUE_LEN of them and then drops the oldest silently:
// resolve first, send after.
bool syslog_route_ready(ip4_addr_t const& dst) {
    ip4_addr_t hop = dst;
    if (!ip4_addr_netcmp(&dst, netif_ip4_addr(&g_s.nif), netif_ip4_netmask(&g_s.nif)))
        hop = *netif_ip4_gw(&g_s.nif);
    eth_addr* mac = nullptr;
    ip4_addr_t const* ip = nullptr;
    if (etharp_find_addr(&g_s.nif, &hop, &mac, &ip) >= 0) return true;
    u32 const now = sys_now();
    if (!g_s.arp_sent || now - g_s.last_arp_ms >= kArpRetryMs) {
        g_s.arp_sent = true;
        g_s.last_arp_ms = now;
        (void)etharp_request(&g_s.nif, &hop);
    }
    return false;
}

// ERR_MEM means "try again later" (TX slots or pbufs full); anything else loses the line.
err_t send_line(ip4_addr_t const& dst, char const* line, size_t len) {
    char msg[512];
    size_t const n = syslog_format(msg, sizeof msg, g_s.hostname, g_s.syslog_seq + 1, line, len);
    if (n == 0) return ERR_VAL;
    pbuf* p = pbuf_alloc(PBUF_TRANSPORT, static_cast<u16_t>(n), PBUF_RAM);
    if (!p) return ERR_MEM;
    memcpy(p->payload, msg, n);
    ip_addr_t to;
    ip_addr_copy_from_ip4(to, dst);
    err_t const e = udp_sendto(g_s.syslog, p, &to, g_s.cfg.syslog_port);
    pbuf_free(p);
    if (e == ERR_OK) {
        ++g_s.syslog_seq;
        ++g_s.n.syslog_sent;
    }
    return e;
}

void drain_syslog() {
    if (!g_s.syslog || !has_address()) return;
    ip4_addr_t dst;
    ip4_addr_set_u32(&dst, g_s.cfg.syslog_host);
    if (!syslog_route_ready(dst)) return;
    for (u32 budget = kSyslogBudget; budget > 0; --budget) {
        if (g_backlog.dropped() != g_s.dropped_reported) {  // say what the listener missed
            char note[96];
            u64 const lost = g_backlog.dropped() - g_s.dropped_reported;
            int const k = snprintf(note, sizeof note, "net: %llu log lines dropped (syslog backlog full)",
                                   static_cast<unsigned long long>(lost));
            if (send_line(dst, note, static_cast<size_t>(k)) == ERR_MEM) return;
            g_s.dropped_reported += lost;
            continue;
        }
        if (g_backlog.empty()) return;
        size_t len = 0;
        char const* line = g_backlog.front(&len);
        if (send_line(dst, line, len) == ERR_MEM) return;
        g_backlog.pop();
    }
}

}  // namespace

Status stack_start(NetSettings const& s, nic::FramePort* port) {
    if (!port) return Status::Invalid;
    if (g_s.started) return Status::Exists;
    if (!s.dhcp && (s.address == 0 || s.netmask == 0)) return Status::Invalid;
    if (s.syslog_host != 0 && s.syslog_port == 0) return Status::Invalid;
    if (!g_s.lwip_ready) {
        lwip_init();
        g_s.lwip_ready = true;
    }
    g_s.port = port;
    g_s.cfg = s;
    set_hostname(port->mac());
    if (!ok(port->add_receiver(kEtherArp, rx, nullptr)) || !ok(port->add_receiver(kEtherIpv4, rx, nullptr)))
        return Status::Exists;

    ip4_addr_t a, m, g;
    ip4_addr_set_u32(&a, s.dhcp ? 0 : s.address);
    ip4_addr_set_u32(&m, s.dhcp ? 0 : s.netmask);
    ip4_addr_set_u32(&g, s.dhcp ? 0 : s.gateway);
    if (!netif_add(&g_s.nif, &a, &m, &g, nullptr, netif_setup, ethernet_input)) return Status::NoMemory;
    g_s.started = true;
    netif_set_status_callback(&g_s.nif, status_changed);
    netif_set_default(&g_s.nif);
    if (port->link_up()) netif_set_link_up(&g_s.nif);
    netif_set_up(&g_s.nif);
    if (s.syslog_host != 0) {
        g_s.syslog = udp_new();
        if (!g_s.syslog) return Status::NoMemory;
    }
    if (s.dhcp && dhcp_start(&g_s.nif) != ERR_OK) return Status::NoMemory;
    return Status::Ok;
}

void stack_stop() {
    if (g_s.started) {
        if (g_s.cfg.dhcp) {
            dhcp_stop(&g_s.nif);
            dhcp_cleanup(&g_s.nif);
        }
        netif_remove(&g_s.nif);
    }
    if (g_s.syslog) udp_remove(g_s.syslog);
    bool const lwip_ready = g_s.lwip_ready;
    g_s = Stack{};
    g_s.lwip_ready = lwip_ready;
    g_backlog = LogBacklog{};
}

void stack_tick() {
    if (!g_s.started) return;
    g_s.port->poll();
    bool const up = g_s.port->link_up();
    if (up != netif_is_link_up(&g_s.nif)) {
        net_log("net: link %s", up ? "up" : "down");
        if (up)
            netif_set_link_up(&g_s.nif);
        else
            netif_set_link_down(&g_s.nif);
    }
    sys_check_timeouts();
    drain_syslog();
}

void stack_queue_log(char const* line, size_t len) { g_backlog.push(line, len); }

u32 stack_pending_log() { return g_backlog.size() + (g_backlog.dropped() != g_s.dropped_reported ? 1 : 0); }

bool stack_has_address() { return has_address(); }

bool stack_link_up() { return g_s.started && netif_is_link_up(&g_s.nif); }

u32 stack_address() { return g_s.started ? ip4_addr_get_u32(netif_ip4_addr(&g_s.nif)) : 0; }

NetCounters stack_counters() {
    NetCounters c = g_s.n;
    c.syslog_dropped = g_backlog.dropped();
    c.syslog_truncated = g_backlog.truncated();
    return c;
}

char const* stack_hostname() { return g_s.hostname; }

bool stack_next_hop_mac(u32 dst_be, u8 mac[6]) {
    if (!has_address()) return false;
    ip4_addr_t dst;
    ip4_addr_set_u32(&dst, dst_be);
    ip4_addr_t hop = dst;
    if (!ip4_addr_netcmp(&dst, netif_ip4_addr(&g_s.nif), netif_ip4_netmask(&g_s.nif)))
        hop = *netif_ip4_gw(&g_s.nif);
    eth_addr* found = nullptr;
    ip4_addr_t const* ip = nullptr;
    if (etharp_find_addr(&g_s.nif, &hop, &found, &ip) >= 0 && found) {
        memcpy(mac, found->addr, 6);
        return true;
    }
    static constinit u32 last_ms = 0;
    static constinit bool asked = false;
    u32 const now = sys_now();
    if (!asked || now - last_ms >= kArpRetryMs) {
        asked = true;
        last_ms = now;
        (void)etharp_request(&g_s.nif, &hop);
    }
    return false;
}

}  // namespace tv::net
