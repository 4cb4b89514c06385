// The VPN tunnel in the monitor: the trap layer that ties the pure parts of vpn/ to the
// monitor. IKE (vpn/ike/'s initiator) runs over the monitor's lwIP UDP on ports 500 and 4500,
// its timers (retransmission, DPD, rekeys, restarts) on the monitor clock's 10 ms tick; ESP
// (vpn/esp_*, vpn/sa*) carries the guest's IPv4 packets behind the copy-out policy's Tunnel
// interface, always in UDP 4500 (RFC 3948: strongSwan's kernel-libipsec requires it):
//   guest packet -> VpnGuestPolicy -> send_inner -> esp_seal -> Ethernet/IPv4/UDP built here
//     -> FrameSwitch::inject_to_wire (lwIP is not on this path: no pbuf, no ARP queue);
//   UDP 4500 from the gateway -> lwIP -> on_udp -> esp_open (in place) -> from_tunnel -> guest.
// Fail closed: up() only while a child SA is installed and the gateway's MAC is known; every
// other guest packet is dropped and counted by the policy, none is ever sent in clear.
//
// Locking: every entry point runs under the NIC's lock (the guest's exits through the
// mediator, lwIP's input inside the mediator's poll, and tick() takes it), so the SA database
// and the initiator see one caller at a time. IKE's and ESP's AES-GCM run in an FpuGuard.
// Monitor-only (lwIP, the clock, the log); the logic it calls is host-tested in vpn/.
#pragma once

#include "core/types.hpp"
#include "net/udp_socket.hpp"
#include "vpn/esp.hpp"
#include "vpn/guest/tunnel.hpp"
#include "vpn/ike/file_signer.hpp"
#include "vpn/ike/initiator.hpp"
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
    u64 udp_not_gateway;   // UDP to our IKE/ESP ports from another host than the gateway
    u64 udp_malformed;     // on 4500: too short for an SPI, or a bare non-ESP marker
    u64 udp_too_long;      // larger than the receive buffer
    u64 keepalives_in;     // NAT keepalives from the gateway (ignored)
    u64 no_next_hop;       // a sealed packet with no MAC for the gateway yet
    u64 wire_full;         // the NIC could not take an ESP frame now
    u64 seal_refused;      // no outbound SA, or it reached a hard limit
    u64 tunnels_up;        // child SAs installed (first ones and rekeys)
    u64 gateway_switches;  // failovers to the next configured gateway
    u64 setup_ms;          // IKE_SA_INIT (the answered send) to the child SA up, the latest
    u64 first_packet_ms;   // IKE_SA_INIT to the first guest packet through the tunnel, the latest
    u64 inner_bytes_out, inner_bytes_in;  // the guest's packets through the tunnel, all SAs
};

class MonitorTunnel final : public Tunnel, ike::Transport, ike::Clock, ike::Events {
  public:
    // At the e1000 install, before the guest runs: builds the initiator from [vpn] and hands it
    // the PSK from its boot module, whose monitor copy is wiped here (the initiator keeps only
    // prf(PSK, pad)). False (logged) when the PSK or the configuration is refused: the tunnel
    // then never comes up and the guest stays cut off.
    [[nodiscard]] bool init(VpnConfig const& cfg, VpnGuestPolicy* policy, sw::FrameSwitch* sw,
                            nic::NicEnv* lock);
    // Every 10 ms on the timer CPU: opens the sockets once the monitor has an address, starts
    // IKE, runs its timers, fails over between gateways, refreshes the gateway's MAC.
    void tick();

    // Tunnel (the policy, under the NIC's lock)
    bool up() const override;
    Status send_inner(u8 const* packet, u32 len) override;

    // The state thinvisor-ctl and the power-off log show (never keys).
    struct View {
        ike::State state;
        ike::Error last_error;
        u32 gateway_be;
        u64 ike_spi_i, ike_spi_r;
        u32 spi_in, spi_out;
        u64 pkts_out, bytes_out, pkts_in, bytes_in;
    };
    View view() const;
    EspStats const& esp() const { return esp_; }
    TunnelCounters const& counters() const { return c_; }
    ike::Counters ike_counters() const;

    // lwIP's receive functions (through net::UdpSocket).
    static void recv500(void* ctx, u32 src_be, u16 src_port, u8* data, size_t len);
    static void recv4500(void* ctx, u32 src_be, u16 src_port, u8* data, size_t len);

  private:
    // ike::Transport, ike::Clock, ike::Events
    Status send(u16 port, u8 const* data, size_t len) override;
    u64 now_ms() override;
    void line(char const* text) override;
    void child_up(ike::ChildSa const& sa) override;
    void child_down(u32 spi_in, u32 spi_out) override;

    [[nodiscard]] bool configure(VpnConfig const& cfg);
    [[nodiscard]] bool configure_cert(VpnConfig const& v, ike::Config const& c);
    [[nodiscard]] bool open_sockets();
    void on_esp(u8* data, size_t len);
    void count_drop(EspVerdict v);
    void failover();
    void adopt_inner(ike::ChildSa const& sa);
    void refresh_next_hop();
    ike::Initiator& ini() { return *reinterpret_cast<ike::Initiator*>(ini_mem_); }
    ike::Initiator const& ini() const { return *reinterpret_cast<ike::Initiator const*>(ini_mem_); }

    VpnGuestPolicy* policy_{nullptr};
    sw::FrameSwitch* sw_{nullptr};
    nic::NicEnv* lock_{nullptr};
    bool ready_{false};    // init() succeeded
    bool started_{false};  // sockets open, IKE started
    net::UdpSocket udp500_;
    net::UdpSocket udp4500_;
    u32 gateways_be_[4]{};
    u16 gateway_ports_[4]{};  // each gateway's IKE port ([vpn] gateway = IP:port; 500: the usual 500/4500)
    u32 gateway_count_{0};
    u32 gateway_index_{0};
    u32 gw_be_{0};  // the gateway in use
    u8 gw_mac_[6]{};
    bool gw_mac_known_{false};
    u64 attempt_ms_{0};        // when this gateway's attempt began (failover)
    u64 init_sent_ms_{0};      // the latest IKE_SA_INIT request sent
    u64 setup_start_ms_{0};    // init_sent_ms_ of the SA that came up
    bool first_packet_{false};  // a guest packet went through since the SA came up
    u16 ip_id_{0};
    u32 child_in_{0}, child_out_{0};
    SaDb db_;
    EspStats esp_{};
    TunnelCounters c_{};
    u8 frame_[1514 + 64]{};  // one outgoing ESP frame
    alignas(ike::Initiator) u8 ini_mem_[sizeof(ike::Initiator)]{};
    // auth = cert: our key and certificate; the initiator keeps a reference, so it lives here.
    alignas(ike::FileSigner) u8 signer_mem_[sizeof(ike::FileSigner)]{};
};

}  // namespace tv::vpn
