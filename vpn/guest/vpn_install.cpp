#include "vpn/guest/vpn_install.hpp"

#include <stdio.h>
#include <string.h>

#include "core/config_load.hpp"
#include "core/exit_stats.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "drivers/nic/e1000_mediator.hpp"
#include "vpn/guest/vpn_policy.hpp"
#include "vpn/monitor/tunnel_install.hpp"

namespace tv::vpn {

namespace {

// The tunnel when the real one cannot run (no PSK, a refused configuration): never up.
constinit FailClosedTunnel g_closed;
constinit VpnGuestPolicy g_policy;

using ull = unsigned long long;
constexpr u32 kDrops = static_cast<u32>(GuestDrop::Count);
constexpr char const* kOther[] = {"to-tunnel", "from-tunnel", "dhcp-offers", "dhcp-acks", "dhcp-naks",
                                  "arp-replies", "mss-clamped", "frag-needed", "fragmented", "held"};
constexpr u32 kOthers = sizeof kOther / sizeof kOther[0];

u64 other_value(GuestCounters const& c, u32 i) {
    u64 const v[] = {c.to_tunnel, c.from_tunnel, c.dhcp_offers, c.dhcp_acks, c.dhcp_naks,
                     c.arp_replies, c.mss_clamped, c.frag_needed, c.fragmented, c.held};
    static_assert(sizeof v / sizeof v[0] == kOthers);
    return v[i];
}

// The hypercall counters thinvisor-ctl reads: "vpn-" and the drop reason, then the rest.
bool device_counter(void*, u32 i, char* name, u64* value) {
    GuestCounters const& c = g_policy.counters();
    if (i >= kDrops + kOthers) return false;
    char const* n = i < kDrops ? guest_drop_name(static_cast<GuestDrop>(i)) : kOther[i - kDrops];
    snprintf(name, 17, "vpn-%s", n);
    *value = i < kDrops ? c.drops[i] : other_value(c, i - kDrops);
    return true;
}

void log_counters() {
    GuestCounters const& c = g_policy.counters();
    log("vpn: guest side: to tunnel %llu, from tunnel %llu, dhcp offers/acks/naks/releases %llu/%llu/%llu/%llu, "
        "arp replies %llu, mss clamped %llu, frag-needed sent %llu, fragmented %llu (%llu fragments), held while "
        "the tunnel came up %llu; dropped %llu",
        static_cast<ull>(c.to_tunnel), static_cast<ull>(c.from_tunnel), static_cast<ull>(c.dhcp_offers),
        static_cast<ull>(c.dhcp_acks), static_cast<ull>(c.dhcp_naks), static_cast<ull>(c.dhcp_releases),
        static_cast<ull>(c.arp_replies), static_cast<ull>(c.mss_clamped), static_cast<ull>(c.frag_needed),
        static_cast<ull>(c.fragmented), static_cast<ull>(c.fragments), static_cast<ull>(c.held),
        static_cast<ull>(c.total_drops()));
    for (u32 i = 0; i < kDrops; ++i)
        if (c.drops[i])
            log("vpn: guest side dropped %s: %llu", guest_drop_name(static_cast<GuestDrop>(i)),
                static_cast<ull>(c.drops[i]));
}

u32 host(u32 be) { return __builtin_bswap32(be); }

}  // namespace

void vpn_guest_install(nic::E1000Mediator& med) {
    Config const* cfg = config();
    if (!cfg || !cfg->vpn.present) return;
    VpnConfig const& v = cfg->vpn;
    GuestNet net{};
    net.address = host(v.inner_address_be);
    net.prefix = v.inner_prefix;
    for (u32 i = 0; i < v.dns_count && i < GuestNet::kMaxDns; ++i) net.dns[net.dns_count++] = host(v.dns_be[i]);
    net.lease_seconds = 3600;
    // Installed even if init refuses the address: the policy drops what it cannot answer,
    // and the default policy would forward the guest's frames to the wire.
    if (!g_policy.init(net, &g_closed, &med.port(), med.port().mac()))
        log("vpn: inner address leaves no room for a virtual gateway; the guest gets no DHCP answer");
    // The IKE/ESP tunnel: fail closed until its child SA is up, and for ever if it cannot run.
    Tunnel* tunnel = vpn_tunnel_install(g_policy, med);
    if (tunnel) (void)g_policy.init(net, tunnel, &med.port(), med.port().mac());
    med.set_policy(&g_policy);
    u32 const a = net.address, g = g_policy.net().gateway;
    log("vpn: guest side on: guest %u.%u.%u.%u/%u, virtual gateway %u.%u.%u.%u (%02x:%02x:%02x:%02x:%02x:%02x), "
        "inner MTU %u, MSS %u",
        a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, net.prefix, g >> 24, g >> 16 & 255, g >> 8 & 255, g & 255,
        kGatewayMac.b[0], kGatewayMac.b[1], kGatewayMac.b[2], kGatewayMac.b[3], kGatewayMac.b[4], kGatewayMac.b[5],
        kInnerMtu, kTcpMss);
    if (!tunnel) log("vpn: tunnel: fail-closed stub (the IKE/ESP tunnel cannot run): every guest packet is dropped");
    if (!power_off_log_register(log_counters)) log("vpn: no room for the power-off log");
    if (!stats_device_counters_register(kDrops + kOthers, device_counter, nullptr))
        log("vpn: no room for the device counters");
}

}  // namespace tv::vpn
