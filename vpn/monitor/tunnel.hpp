// The VPN tunnel in the monitor: the trap layer that ties the pure parts of vpn/ to the
// monitor. IKE (vpn/ike/'s initiator) runs over the monitor's lwIP UDP on ports 500 and 4500,
// its timers (retransmission, DPD, rekeys, restarts) on the monitor clock's 10 ms tick; ESP
// (vpn/esp_*, vpn/sa*) carries the guest's IPv4 packets behind the copy-out policy's Tunnel
// interface, always in UDP 4500 (RFC 3948: strongSwan's kernel-libipsec requires it):
//   guest packet -> VpnGuestPolicy -> send_inner -> esp_seal -> Ethernet/IPv4/UDP built here
//     -> FrameSwitch::inject_to_wire (lwIP is not on this path: no pbuf, no ARP queue);
//   UDP 4500 from the gateway -> lwIP -> on_udp -> esp_open (in place) -> from_tunnel -> guest.
// Fail closed: up() only while the active gateway's child SA is installed and its MAC is known;
// every other guest packet is dropped and counted by the policy, none is ever sent in clear.
// Failover (tunnel_failover.cpp, vpn/failover/): two GatewayLinks, the active gateway's and
// the hot standby's, each with its IKE SA and SA database; liveness pings inside each tunnel;
// the pure failover machine decides which gateway is active.
//
// Locking: every entry point runs under the NIC's lock (the guest's exits through the
// mediator, lwIP's input inside the mediator's poll, and tick() takes it), so the SA database
// and the initiator see one caller at a time. IKE's and ESP's AES-GCM run in an FpuGuard.
// Monitor-only (lwIP, the clock, the log); the logic it calls is host-tested in vpn/.
#pragma once

#include "core/types.hpp"
#include "net/udp_socket.hpp"
#include "vpn/esp.hpp"
#include "vpn/guest/held_packet.hpp"
#include "vpn/guest/tunnel.hpp"
#include "vpn/failover/echo.hpp"
#include "vpn/failover/machine.hpp"
#include "vpn/ike/file_signer.hpp"
#include "vpn/ike/initiator.hpp"
#include "vpn/monitor/gateway_link.hpp"
#include "vpn/sa.hpp"

namespace tv {
struct VpnConfig;
}
namespace tv::nic {
class NicEnv;
}
namespace tv::sw {
class FrameSwitch;
}

namespace tv::vpn {

class VpnGuestPolicy;

// What the trap layer itself counts (ESP's verdicts are EspStats, IKE's ike::Counters).
struct TunnelCounters {
    u64 udp_not_gateway;   // UDP to our IKE/ESP ports from another host than a gateway in use
    u64 udp_malformed;     // on 4500: too short for an SPI, or a bare non-ESP marker
    u64 udp_too_long;      // larger than the receive buffer
    u64 keepalives_in;     // NAT keepalives from the gateway (ignored)
    u64 no_next_hop;       // a sealed packet with no MAC for the gateway yet
    u64 wire_full;         // the NIC could not take an ESP frame now
    u64 seal_refused;      // no outbound SA, or it reached a hard limit
    u64 tunnels_up;        // child SAs installed (first ones and rekeys, every gateway)
    u64 gateway_switches;  // the active gateway changed (failovers and failbacks)
    u64 setup_ms;          // IKE_SA_INIT (the answered send) to the child SA up, the latest
    u64 first_packet_ms;   // IKE_SA_INIT to the first guest packet through the tunnel, the latest
    u64 inner_bytes_out, inner_bytes_in;  // the guest's packets through the tunnel, all SAs
    u64 failovers, failbacks;
    u64 detect_ms;         // the last failover: first unanswered ping (or SA lost) to decision
    u64 switch_ms;         // the last failover: decision to the new gateway's SA in use
    u64 pings_out, pings_in;  // liveness pings sent, replies taken out of the tunnel
    u64 ping_bytes;        // ESP bytes on the wire for the pings, each way
    u64 standby_ike_bytes;  // IKE bytes to and from the standby gateway
};

class MonitorTunnel final : public Tunnel {
  public:
    // At the e1000 install, before the guest runs: builds the initiators from [vpn] and hands
    // them the PSK from its boot module, whose monitor copy is wiped here (the initiators keep
    // only prf(PSK, pad)). False (logged) when the PSK or the configuration is refused: the
    // tunnel then never comes up and the guest stays cut off.
    [[nodiscard]] bool init(VpnConfig const& cfg, VpnGuestPolicy* policy, sw::FrameSwitch* sw,
                            nic::NicEnv* lock);
    // Every 10 ms on the timer CPU: opens the sockets once the monitor has an address, runs
    // IKE's timers, the liveness pings and the failover machine, refreshes the gateways' MACs.
    void tick();
    // At the guest's power-off or reset (`why`, for the log; tunnel_install.cpp): the Delete of every gateway's IKE SA (its
    // child SAs go with it, RFC 7296 §1.4.1) once the link is up (kLinkWaitUs at most), the
    // network run until the gateways answer or kDeleteWaitUs passed, then the SAs' keys and our
    // signing key wiped. Nothing more after it.
    void shutdown(char const* why);
    static constexpr u64 kLinkWaitUs = 3'000'000, kDeleteWaitUs = 1'000'000;

    // Tunnel (the policy, under the NIC's lock)
    bool up() const override;
    Status send_inner(u8 const* packet, u32 len) override;
    bool hold(u8 const* packet, u32 len) override;
    HeldPacket::Counts const& held() const { return held_.counts(); }

    // The state thinvisor-ctl and the power-off log show (never keys).
    struct View {
        ike::State state;
        ike::Error last_error;
        u32 gateway_be;
        u64 ike_spi_i, ike_spi_r;
        u32 spi_in, spi_out;
        u64 pkts_out, bytes_out, pkts_in, bytes_in;
        u32 standby_be;            // 0: none
        ike::State standby_state;
        u8 active_live, standby_live;  // failover::Liveness + 1, 0: none
    };
    View view() const;
    EspStats const& esp() const { return esp_; }
    TunnelCounters const& counters() const { return c_; }
    ike::Counters ike_counters() const;

    // lwIP's receive functions (through net::UdpSocket).
    static void recv500(void* ctx, u32 src_be, u16 src_port, u8* data, size_t len);
    static void recv4500(void* ctx, u32 src_be, u16 src_port, u8* data, size_t len);

    // From the links (gateway_link.cpp).
    Status ike_send(GatewayLink& l, u16 port, u8 const* data, size_t len);
    void link_child_up(GatewayLink& l, ike::ChildSa const& sa, bool first);
    void link_child_down(GatewayLink& l, u32 spi_in, u32 spi_out);

  private:
    static constexpr u32 kLinks = 2;  // the active gateway's and the standby's

    [[nodiscard]] bool configure(VpnConfig const& cfg);
    [[nodiscard]] bool configure_psk(VpnConfig const& v, ike::Config const& c);
    [[nodiscard]] bool configure_cert(VpnConfig const& v, ike::Config const& c);
    [[nodiscard]] bool open_sockets();
    void start();
    static bool deletes_done(void* self);
    GatewayLink* link_from(u32 src_be);
    GatewayLink* link_of(u32 gateway);
    GatewayLink& active() { return *active_; }
    GatewayLink const& active() const { return *active_; }
    GatewayLink const* standby() const;
    void on_esp(GatewayLink& l, u8* data, size_t len);
    void count_drop(EspVerdict v);
    Status seal_and_send(GatewayLink& l, u8 const* packet, u32 len, u64* wire_len);
    void adopt_inner(ike::ChildSa const& sa);
    bool coming_up() const;
    void release_held(u32 inner);
    // tunnel_failover.cpp
    void failover_tick(u64 now);
    void apply(failover::Step const& st, u64 now);
    void log_switch(failover::Switch const& sw);
    void begin_switch(failover::Switch const& sw, u64 now);
    void switched(u64 now);
    void send_pings(failover::Step const& st);

    VpnGuestPolicy* policy_{nullptr};
    sw::FrameSwitch* sw_{nullptr};
    nic::NicEnv* lock_{nullptr};
    bool ready_{false};    // init() succeeded
    bool started_{false};  // sockets open, IKE started
    bool stopped_{false};  // shutdown(): no IKE from the tick any more
    bool signer_built_{false};  // signer_mem_ holds a FileSigner (destroyed by shutdown())
    net::UdpSocket udp500_;
    net::UdpSocket udp4500_;
    u32 gateways_be_[failover::kMaxGateways]{};
    u16 gateway_ports_[failover::kMaxGateways]{};  // each gateway's IKE port ([vpn] gateway = IP:port; 500: the usual 500/4500)
    u32 targets_be_[failover::kMaxGateways]{};  // liveness targets, by gateway
    u32 gateway_count_{0};
    GatewayLink links_[kLinks];
    GatewayLink* active_{&links_[0]};
    failover::Machine machine_;
    failover::Params params_{};
    failover::EchoTag tag_{};
    // a switch decided and not yet carrying traffic (on demand: IKE under way)
    bool switching_{false};
    failover::Switch pending_{};
    u64 decided_ms_{0};
    u64 setup_start_ms_{0};     // init_sent_ms of the active SA that came up
    bool first_packet_{false};  // a guest packet went through since the SA came up
    HeldPacket held_;           // the guest's latest packet while the tunnel comes up
    bool releasing_{false};     // the held packet is the one being sent
    u16 ip_id_{0};
    EspStats esp_{};
    TunnelCounters c_{};
    u8 frame_[1514 + 64]{};  // one outgoing ESP frame
    // auth = cert: our key and certificate; the initiators keep a reference, so it lives here.
    alignas(ike::FileSigner) u8 signer_mem_[sizeof(ike::FileSigner)]{};
};

}  // namespace tv::vpn
