// The tunnel's install, its 10 ms tick, and what it shows: the power-off log lines and the
// hypercall device counters `thinvisor-ctl vpn` reads (state, gateway, SPIs, packets and bytes
// each way, drops by reason, rekeys, the last error; never a key).
#include "vpn/monitor/tunnel_install.hpp"

#include <stdio.h>

#include "core/config_load.hpp"
#include "core/exit_stats.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "drivers/nic/e1000_mediator.hpp"
#include "vpn/monitor/tunnel.hpp"

namespace tv::vpn {

namespace {

constinit MonitorTunnel g_tunnel;
using ull = unsigned long long;

constexpr u64 kTickUs = 10'000;  // the network stack's tick: IKE's timers need no finer

// The counters in thinvisor-ctl's order; names are at most 16 characters ("vpn-" first).
constexpr char const* kNames[] = {
    "vpn-state",       "vpn-last-error",   "vpn-gateway",     "vpn-ike-spi-i",   "vpn-ike-spi-r",
    "vpn-spi-in",      "vpn-spi-out",      "vpn-pkts-out",    "vpn-bytes-out",   "vpn-pkts-in",
    "vpn-bytes-in",    "vpn-unknown-spi",  "vpn-truncated",   "vpn-replay",      "vpn-bad-icv",
    "vpn-bad-padding", "vpn-bad-next-hdr", "vpn-bad-inner",   "vpn-expired",     "vpn-dummy",       "vpn-udp-bad",     "vpn-not-gateway",
    "vpn-no-next-hop", "vpn-wire-full",    "vpn-seal-refused", "vpn-ike-bad",    "vpn-ike-ignored",
    "vpn-ike-foreign", "vpn-ike-retrans",  "vpn-child-rekeys", "vpn-ike-rekeys", "vpn-dpd-sent",
    "vpn-tunnels-up",  "vpn-gw-switches",  "vpn-setup-ms",    "vpn-first-pkt-ms",
    // failover (vpn/monitor/tunnel_failover.cpp)
    "vpn-standby",     "vpn-standby-st",   "vpn-active-live", "vpn-standby-live", "vpn-failovers",
    "vpn-failbacks",   "vpn-detect-ms",    "vpn-switch-ms",   "vpn-pings-out",   "vpn-pings-in",
    "vpn-ping-bytes",  "vpn-standby-ike"};
constexpr u32 kCount = sizeof kNames / sizeof kNames[0];

u64 value(u32 i) {
    MonitorTunnel::View const v = g_tunnel.view();
    EspStats const& e = g_tunnel.esp();
    TunnelCounters const& c = g_tunnel.counters();
    ike::Counters const k = g_tunnel.ike_counters();
    u64 const all[] = {static_cast<u64>(v.state), static_cast<u64>(v.last_error), __builtin_bswap32(v.gateway_be),
                       v.ike_spi_i, v.ike_spi_r, v.spi_in, v.spi_out, v.pkts_out, v.bytes_out, v.pkts_in,
                       v.bytes_in, e.unknown_spi, e.truncated, e.replay, e.bad_icv, e.bad_padding,
                       e.bad_next_header, e.bad_inner, e.expired, e.dummy, c.udp_malformed + c.udp_too_long, c.udp_not_gateway,
                       c.no_next_hop, c.wire_full, c.seal_refused, k.malformed, k.ignored_response, k.foreign,
                       k.retransmits, k.child_rekeys, k.ike_rekeys, k.dpd_sent, c.tunnels_up,
                       c.gateway_switches, c.setup_ms, c.first_packet_ms, __builtin_bswap32(v.standby_be),
                       static_cast<u64>(v.standby_state), v.active_live, v.standby_live, c.failovers, c.failbacks,
                       c.detect_ms, c.switch_ms, c.pings_out, c.pings_in, c.ping_bytes, c.standby_ike_bytes};
    static_assert(sizeof all / sizeof all[0] == kCount);
    return all[i];
}

bool device_counter(void*, u32 i, char* name, u64* out) {
    if (i >= kCount) return false;
    snprintf(name, 17, "%s", kNames[i]);
    *out = value(i);
    return true;
}

void log_tunnel() {
    MonitorTunnel::View const v = g_tunnel.view();
    EspStats const& e = g_tunnel.esp();
    TunnelCounters const& c = g_tunnel.counters();
    ike::Counters const k = g_tunnel.ike_counters();
    u8 const* g = reinterpret_cast<u8 const*>(&v.gateway_be);
    log("vpn: tunnel %s with %u.%u.%u.%u (last error: %s): out %llu packets %llu bytes, in %llu packets %llu bytes; "
        "child SAs %llu, child rekeys %llu, IKE rekeys %llu",
        ike::to_string(v.state), g[0], g[1], g[2], g[3], ike::to_string(v.last_error), static_cast<ull>(v.pkts_out),
        static_cast<ull>(v.bytes_out), static_cast<ull>(v.pkts_in), static_cast<ull>(v.bytes_in),
        static_cast<ull>(c.tunnels_up), static_cast<ull>(k.child_rekeys), static_cast<ull>(k.ike_rekeys));
    log("vpn: failover: %llu failovers, %llu failbacks, the last detected in %llu ms and switched in %llu ms; "
        "liveness pings %llu out %llu in (%llu bytes), standby IKE %llu bytes",
        static_cast<ull>(c.failovers), static_cast<ull>(c.failbacks), static_cast<ull>(c.detect_ms),
        static_cast<ull>(c.switch_ms), static_cast<ull>(c.pings_out), static_cast<ull>(c.pings_in),
        static_cast<ull>(c.ping_bytes), static_cast<ull>(c.standby_ike_bytes));
    log("vpn: tunnel drops: esp unknown-spi %llu truncated %llu replay %llu bad-icv %llu bad-padding %llu "
        "bad-next-header %llu bad-inner %llu expired %llu dummy %llu; udp malformed %llu not-gateway %llu; ike malformed %llu ignored %llu "
        "foreign %llu; no-next-hop %llu wire-full %llu seal-refused %llu",
        static_cast<ull>(e.unknown_spi), static_cast<ull>(e.truncated), static_cast<ull>(e.replay),
        static_cast<ull>(e.bad_icv), static_cast<ull>(e.bad_padding), static_cast<ull>(e.bad_next_header),
        static_cast<ull>(e.bad_inner), static_cast<ull>(e.expired),
        static_cast<ull>(e.dummy), static_cast<ull>(c.udp_malformed + c.udp_too_long),
        static_cast<ull>(c.udp_not_gateway), static_cast<ull>(k.malformed), static_cast<ull>(k.ignored_response),
        static_cast<ull>(k.foreign), static_cast<ull>(c.no_next_hop), static_cast<ull>(c.wire_full),
        static_cast<ull>(c.seal_refused));
    HeldPacket::Counts const& h = g_tunnel.held();
    log("vpn: guest packets kept while the tunnel came up: %llu, sent with the new SA %llu, dropped %llu",
        static_cast<ull>(h.kept), static_cast<ull>(h.sent), static_cast<ull>(h.dropped));
}

void tick() { g_tunnel.tick(); }
void leaving(GuestLeaving how) { g_tunnel.shutdown(to_string(how)); }

}  // namespace

Tunnel* vpn_tunnel_install(VpnGuestPolicy& policy, nic::E1000Mediator& med) {
    Config const* cfg = config();
    if (!cfg || !cfg->vpn.present) return nullptr;
    if (!g_tunnel.init(cfg->vpn, &policy, &med.port(), med.env())) return nullptr;
    if (!timer_add_periodic(tick, kTickUs)) {
        log("vpn: no room for the tunnel's tick on the monitor clock: the tunnel stays down");
        return nullptr;
    }
    // The Delete at the guest's power-off and at its reset (before the counters of a power-off,
    // so that they show the tunnel as it ended).
    if (!power_leaving_register(leaving)) log("vpn: no room among the guest-leaving hooks: no Delete at power-off or reset");
    if (!power_off_log_register(log_tunnel)) log("vpn: no room in the power-off log for the tunnel");
    if (!stats_device_counters_register(kCount, device_counter, nullptr))
        log("vpn: no room for the tunnel's device counters");
    return &g_tunnel;
}

}  // namespace tv::vpn
