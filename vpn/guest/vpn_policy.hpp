// The VPN's forwarding policy on the frame switch (switch/frame_switch.hpp), in copy-out
// mode: the guest sits alone on a virtual LAN with a virtual gateway, and everything it
// sends either is answered by that gateway or goes into the tunnel. Nothing of the guest's
// reaches the wire.
// - From the guest: DHCP to the gateway's server (guest_dhcp), ARP for the gateway answered
//   (guest_arp); IPv4 from the guest's own address to anything beyond the virtual LAN (not the
//   gateway, a broadcast or a multicast) into the tunnel when it is up, with the
//   MSS clamped and oversized packets handled (ip_size); dropped and counted when it is down.
//   Every other frame (IPv6, ARP for other hosts, LLDP, VLAN tags...) is dropped and counted.
// - From the tunnel (from_tunnel): IPv4 for the guest's address, framed from the gateway's
//   MAC to the guest's, bytes unchanged apart from a SYN's MSS.
// - From the wire: the monitor's frames (its MAC, broadcast, multicast) to the monitor
//   only; the guest never gets a frame from the wire.
// - From the monitor: to the wire only (IKE and ESP in UDP, ARP, DHCP for its own address).
// Pure: host-tested (tests/unit/test_vpn_guest_*.cpp) and fuzzed (fuzz_vpn_guest).
#pragma once

#include "switch/frame_switch.hpp"
#include "vpn/guest/frames.hpp"
#include "vpn/guest/guest_counters.hpp"
#include "vpn/guest/guest_net.hpp"
#include "vpn/guest/inet.hpp"
#include "vpn/guest/tunnel.hpp"

namespace tv::vpn {

class VpnGuestPolicy final : public sw::ForwardingPolicy {
  public:
    // `net.gateway` is set from the address here (gateway_for). `sw` is the switch the
    // policy is installed on: its replies go to the guest through inject_to_guest.
    // False when the address leaves no room for a gateway (the policy must not be used).
    [[nodiscard]] bool init(GuestNet const& net, Tunnel* tunnel, sw::FrameSwitch* sw, MacAddr monitor_mac);

    bool copy_out() const override { return true; }
    sw::Dest from_wire(sw::Frame f) override;
    sw::Dest from_guest(sw::Frame f) override;
    sw::Dest from_monitor(sw::Frame f) override;

    // A decrypted inner IPv4 packet from the tunnel, for the guest.
    void from_tunnel(u8 const* packet, u32 len);

    GuestCounters const& counters() const { return c_; }
    GuestNet const& net() const { return net_; }
    MacAddr guest_mac() const { return guest_; }

  private:
    void drop(GuestDrop d) { ++c_.drops[static_cast<u32>(d)]; }
    void to_guest(u32 len);  // the frame in out_
    void guest_ipv4(sw::Frame f);
    void guest_dhcp(inet::Ipv4View const& v);
    void to_tunnel(u32 len);  // the packet in pkt_

    GuestNet net_{};
    Tunnel* tunnel_{nullptr};
    sw::FrameSwitch* sw_{nullptr};
    MacAddr mon_{};
    MacAddr guest_{};
    bool guest_known_{false};
    GuestCounters c_{};
    u8 pkt_[kMaxFrame]{};  // a guest packet, writable (MSS)
    u8 out_[kMaxFrame]{};  // a frame for the guest
};

}  // namespace tv::vpn
