#include "net/monitor.hpp"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/log.hpp"
#include "core/log_ring.hpp"
#include "drivers/nic/frame_port.hpp"
#include "net/net_log.hpp"
#include "net/netstack.hpp"

namespace tv::net {

namespace {

// 10 ms: ARP and ping answers within a tick of the guest's next exit, lwIP's fastest timer
// (TCP, 250 ms) comfortably resolved, and a tick's cost invisible next to an exit's.
constexpr u64 kTickUs = 10'000;

constinit bool g_running = false;
constinit u64 g_next_tick_us = 0;

void sink(char const* line, size_t len) { stack_queue_log(line, len); }

// The lines logged before the sink existed (the boot banner, CPU, configuration), from the
// ring, so the listener sees the boot as the serial port did.
void replay_ring(u64 upto) {
    LogRing const& ring = log_ring();
    char line[512];  // core/log.cpp formats at most this much a line
    size_t len = 0;
    bool skipping = ring.oldest() != 0;  // the oldest held line may have lost its start
    for (u64 off = ring.oldest(); off < upto;) {
        char chunk[256];
        u64 const want = upto - off < sizeof chunk ? upto - off : sizeof chunk;
        u64 const got = ring.read(off, chunk, want);
        if (got == 0) break;
        for (u64 i = 0; i < got; ++i) {
            if (chunk[i] == '\n') {
                if (!skipping) stack_queue_log(line, len);
                skipping = false;
                len = 0;
            } else if (len < sizeof line) {
                line[len++] = chunk[i];
            }
        }
        off += got;
    }
}

NetSettings settings(Config const& c) {
    auto const& n = c.network;
    return NetSettings{n.dhcp,
                       n.address.be,
                       n.netmask.be,
                       n.gateway.be,
                       n.syslog_port ? n.syslog_host.be : 0,
                       static_cast<u16>(n.syslog_port)};
}

}  // namespace

void net_log(char const* fmt, ...) {
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log("%s", buf);
}

void net_init() {
    Config const* cfg = config();
    if (!cfg || !cfg->network.present) return;
    nic::FramePort* port = nic::monitor_port();
    if (!port) {
        log("net: [network] is configured but no NIC is mediated: the monitor has no network");
        return;
    }
    nic::MacAddr const mac = port->mac();
    if (memcmp(mac.b, cfg->network.mac.b, sizeof mac.b) != 0)
        log("net: the NIC port's MAC differs from [network] mac; using the port's");
    NetSettings const s = settings(*cfg);
    if (s.syslog_host != 0) replay_ring(log_set_sink(sink));
    Status const st = stack_start(s, port);
    if (!ok(st)) {
        log("net: could not start the network stack (status %u)", static_cast<unsigned>(st));
        log_set_sink(nullptr);
        return;
    }
    log("net: monitor stack up on %02x:%02x:%02x:%02x:%02x:%02x (%s)%s", mac.b[0], mac.b[1], mac.b[2], mac.b[3],
        mac.b[4], mac.b[5], s.dhcp ? "DHCP" : "static", s.syslog_host ? ", syslog export on" : "");
    g_running = true;
}

void net_tick() {
    if (!g_running) return;
    u64 const now = clock_us();
    if (now < g_next_tick_us) return;
    g_next_tick_us = now + kTickUs;
    stack_tick();
}

void net_flush(u64 max_us) {
    if (!g_running) return;
    u64 const end = clock_us() + max_us;
    while (stack_pending_log() != 0 && clock_us() < end) {
        stack_tick();
        clock_delay_us(1000);
    }
}

}  // namespace tv::net
