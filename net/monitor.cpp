#include "net/monitor.hpp"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "core/smp.hpp"
#include "core/timer.hpp"
#include "drivers/nic/frame_port.hpp"
#include "net/net_log.hpp"
#include "net/netstack.hpp"
#include "net/pinger.hpp"
#include "net/ring_replay.hpp"

namespace tv::net {

namespace {

// 10 ms: ARP and ping answers within 10 ms (core/timer.hpp gets the monitor back by then,
// whatever the guest does), lwIP's fastest timer (TCP, 250 ms) comfortably resolved, and a
// tick's cost invisible next to an exit's.
constexpr u64 kTickUs = 10'000;

constinit bool g_running = false;
// lwIP and the port are single-threaded (FramePort's contract): only the CPU that started the
// stack (the boot CPU, also the timer CPU) ticks it. Frames that arrive while another CPU runs
// wait in the NIC's receive ring for the next tick.
constinit u32 g_owner_cpu = 0;

void sink(char const* line, size_t len) { stack_queue_log(line, len); }

// [network] ping: one request a second, each given a second to come back, until power-off.
constexpr u32 kPingIntervalMs = 1000, kPingTimeoutMs = 1000;
constinit Pinger g_pinger;
constinit u32 g_ping_target = 0;
constinit bool g_ping_replied = false;

void ip_text(u32 be, char (&out)[16]) {
    u8 const* b = reinterpret_cast<u8 const*>(&be);
    snprintf(out, sizeof out, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

void ping_tick() {
    g_pinger.tick(clock_us() / 1000);
    if (g_ping_replied || g_pinger.counts().replies == 0) return;
    g_ping_replied = true;
    char t[16];
    ip_text(g_ping_target, t);
    log("net: ping %s: first reply (%u ms)", t, g_pinger.counts().last_rtt_ms);
}

void ping_log() {
    PingCounts const c = g_pinger.counts();
    char t[16];
    ip_text(g_ping_target, t);
    log("net: ping %s: %u sent, %u replies, %u timeouts, %u not sent", t, c.sent, c.replies, c.timeouts,
        c.send_failed);
}

void ping_init(u32 target) {
    g_ping_target = target;
    Status const s = g_pinger.start(PingPlan{target, kPingIntervalMs, kPingTimeoutMs, 0}, clock_us() / 1000);
    if (!ok(s)) {
        log("net: could not start pinging (status %u)", static_cast<unsigned>(s));
        return;
    }
    if (!timer_add_periodic(ping_tick, kTickUs)) log("net: no room for the ping tick");
    if (!power_off_log_register(ping_log)) log("net: no room in the power-off log for the ping counts");
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
    // The lines logged before the sink existed (the boot) come first, from the ring.
    if (s.syslog_host != 0) (void)replay_ring_lines(log_ring(), log_set_sink(sink), stack_queue_log);
    Status const st = stack_start(s, port);
    if (!ok(st)) {
        log("net: could not start the network stack (status %u)", static_cast<unsigned>(st));
        log_set_sink(nullptr);
        return;
    }
    log("net: monitor stack up on %02x:%02x:%02x:%02x:%02x:%02x (%s)%s", mac.b[0], mac.b[1], mac.b[2], mac.b[3],
        mac.b[4], mac.b[5], s.dhcp ? "DHCP" : "static", s.syslog_host ? ", syslog export on" : "");
    g_owner_cpu = this_cpu();
    g_running = true;
    if (!timer_add_periodic(stack_tick, kTickUs)) log("net: no room for the network tick: the stack runs only at exits");
    if (!power_off_log_register(timer_log_stats)) log("net: no room in the power-off log for the clock's line");
    if (cfg->network.ping.be) ping_init(cfg->network.ping.be);
    // Registered after every mediator's counters, so the power-off lines go out too: the
    // guest makes no more exits after it, so no tick would send them.
    if (s.syslog_host != 0 && !power_off_log_register([] { net_flush(500'000); }))
        log("net: no room in the power-off log; its last lines will not be exported");
}

void net_flush(u64 max_us) {
    if (!g_running || this_cpu() != g_owner_cpu) return;
    u64 const end = clock_us() + max_us;
    while (stack_pending_log() != 0 && clock_us() < end) {
        stack_tick();
        clock_delay_us(1000);
    }
}

bool net_here() { return g_running && this_cpu() == g_owner_cpu; }

bool net_run_until(bool (*done)(void*), void* ctx, u64 max_us) {
    if (!net_here()) return false;
    u64 const end = clock_us() + max_us;
    while (!done(ctx)) {
        if (clock_us() >= end) return false;
        stack_tick();
        clock_delay_us(1000);
    }
    return true;
}

}  // namespace tv::net
