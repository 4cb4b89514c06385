// Gateway failover in the monitor (docs/vpn.md, "Gateway failover"): every tick the pure
// machine (vpn/failover/machine.hpp) says which links to start and stop, which pings to send
// and whether the active gateway changes; this file does it. A switch to the hot standby takes
// effect at once (its SA is up: the next guest packet goes there); one on demand waits for the
// new gateway's child SA. Either way the log gets the detection and the switch times.
#include <stdio.h>
#include <string.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "vpn/guest/vpn_policy.hpp"
#include "vpn/monitor/tunnel.hpp"

namespace tv::vpn {

namespace {

using ull = unsigned long long;

void ip_text(u32 be, char (&out)[16]) {
    u8 const* b = reinterpret_cast<u8 const*>(&be);
    snprintf(out, sizeof out, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

}  // namespace

void MonitorTunnel::failover_tick(u64 now) {
    failover::Step const st = machine_.poll(now);
    apply(st, now);
    if (params_.ping) send_pings(st);
}

void MonitorTunnel::apply(failover::Step const& st, u64 now) {
    if (st.sw.now) log_switch(st.sw);
    for (u32 g = 0; g < gateway_count_; ++g)
        if (st.stop_mask & (1u << g))
            if (GatewayLink* l = link_of(g)) l->unbind();
    for (u32 g = 0; g < gateway_count_; ++g) {
        if (!(st.start_mask & (1u << g))) continue;
        GatewayLink* l = link_of(g);
        for (u32 i = 0; !l && i < kLinks; ++i)
            if (links_[i].index() == GatewayLink::kNone) l = &links_[i];
        if (!l) {
            log("vpn: no free link for gateway %u (a bug): it is not started", g + 1);
            continue;
        }
        char ip[16];
        ip_text(gateways_be_[g], ip);
        bool const standby = machine_.standby() == static_cast<int>(g);
        log("vpn: starting IKE with gateway %s%s", ip, standby ? " (standby)" : "");
        l->bind(g, gateways_be_[g], gateway_ports_[g]);
    }
    if (GatewayLink* a = link_of(machine_.active())) active_ = a;
    if (st.sw.now) begin_switch(st.sw, now);
}

void MonitorTunnel::log_switch(failover::Switch const& sw) {
    ++c_.gateway_switches;
    if (sw.why == failover::Why::Failback) ++c_.failbacks;
    else ++c_.failovers;
    char from[16], to[16];
    ip_text(gateways_be_[sw.from], from);
    ip_text(gateways_be_[sw.to], to);
    if (sw.why == failover::Why::NoSa)  // the words tests/suites/vpn_tunnel.py looks for
        log("vpn: no SA with the gateway for %llu s: trying gateway %s", static_cast<ull>(sw.detect_ms / 1000), to);
    log("vpn: failover from gateway %s to %s (%s): detected in %llu ms, %s", from, to, failover::to_string(sw.why),
        static_cast<ull>(sw.detect_ms), sw.fresh ? "IKE with it starts now" : "its standby SA takes over");
}

void MonitorTunnel::begin_switch(failover::Switch const& sw, u64 now) {
    pending_ = sw;
    decided_ms_ = now;
    switching_ = true;
    first_packet_ = true;  // the set-up times stay the first SA's
    if (active().up()) switched(now);
}

void MonitorTunnel::switched(u64 now) {
    switching_ = false;
    c_.detect_ms = pending_.detect_ms;
    c_.switch_ms = now - decided_ms_;
    char to[16], g[16];
    ip_text(gateways_be_[pending_.to], to);
    ip_text(active().gateway_be(), g);
    if (!pending_.fresh)  // the regex of vpn_tunnel.py and vpn_failover.py: the SPIs in use now
        log("vpn: tunnel up with gateway %s: child SA in %08x out %08x (the standby's)", g, active().spi_in(),
            active().spi_out());
    log("vpn: failover to gateway %s done: detected in %llu ms, switched in %llu ms (%s)", to,
        static_cast<ull>(c_.detect_ms), static_cast<ull>(c_.switch_ms), failover::to_string(pending_.why));
}

// Each ping is an inner packet like the guest's, from its address, sealed with the link's SA.
void MonitorTunnel::send_pings(failover::Step const& st) {
    u32 const src_be = __builtin_bswap32(policy_->net().address);
    for (u32 g = 0; g < gateway_count_; ++g) {
        if (!(st.ping_mask & (1u << g))) continue;
        GatewayLink* l = link_of(g);
        if (!l || !l->up()) continue;
        u8 pkt[failover::kEchoBytes];
        u32 const n = failover::build_echo(pkt, sizeof pkt, src_be, targets_be_[g], ++ip_id_, tag_, g, st.seq[g]);
        u64 wire = 0;
        if (ok(seal_and_send(*l, pkt, n, &wire))) {
            ++c_.pings_out;
            c_.ping_bytes += wire;
        }
    }
}

}  // namespace tv::vpn
