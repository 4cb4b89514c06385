// The default forwarding policy: frames go where their destination MAC says, as on a LAN
// where the monitor is one more host beside the guest.
// - From the wire: the monitor's MAC to the monitor alone; broadcast and multicast to both;
//   everything else to the guest.
// - From the guest (zero-copy: the device sends it in any case): a copy for the monitor when
//   it is addressed to the monitor, or broadcast/multicast (the guest's ARP for the monitor).
// - From the monitor: to the guest alone when addressed to the guest's MAC (learnt from the
//   guest's own frames), to both for broadcast/multicast, else to the wire.
#pragma once

#include "switch/frame_switch.hpp"

namespace tv::sw {

class MacPolicy final : public ForwardingPolicy {
  public:
    explicit MacPolicy(MacAddr monitor) : mon_(monitor) {}
    MacPolicy() = default;
    void set_monitor_mac(MacAddr m) { mon_ = m; }

    bool copy_out() const override { return false; }
    Dest from_wire(Frame f) override;
    Dest from_guest(Frame f) override;
    Dest from_monitor(Frame f) override;

    // The guest's unicast MAC, from the source of its last frame (zero until it sends one).
    MacAddr guest_mac() const { return guest_; }

  private:
    MacAddr mon_{};
    MacAddr guest_{};
    bool guest_known_{false};
};

// Ethernet address helpers.
MacAddr dst_mac(Frame f);
MacAddr src_mac(Frame f);
constexpr bool is_group(MacAddr m) { return (m.b[0] & 1) != 0; }  // broadcast or multicast

}  // namespace tv::sw
