// The frame switch: where a shared NIC's frames go. A NIC mediator has two sides, the wire
// (the device's rings, which only ever hold monitor memory) and the guest (the guest's own
// rings); the monitor's network stack and AoE initiator are a third port (FramePort). The
// switch sits between them and asks a forwarding policy where each frame goes.
//
// Two modes, chosen by the policy:
// - zero-copy (the default policy): the device reads the guest's transmit buffers itself, once
//   the mediator has checked them; the policy sees each guest frame's header and may ask for a
//   copy for the monitor (a guest pinging the monitor), but the wire always gets the frame.
// - copy-out (a VPN): every guest frame is assembled in monitor memory, with the checksums the
//   guest asked the device to insert already in place, and handed to the policy before
//   anything reaches the wire. The policy forwards it, drops it, or sends frames of its own.
//
// Pure: the sides are interfaces, host-tested with fakes. Every entry point runs under the
// NIC's lock (the mediator's callers hold it), so the switch itself keeps no lock.
#pragma once

#include "core/types.hpp"
#include "drivers/nic/frame_port.hpp"

namespace tv::sw {

using nic::MacAddr;

struct Frame {
    u8 const* data;
    u32 len;  // complete Ethernet frame without FCS
};

// Where a frame goes: any combination.
enum class Dest : u8 { None = 0, Guest = 1, Monitor = 2, Wire = 4 };
constexpr Dest operator|(Dest a, Dest b) { return static_cast<Dest>(static_cast<u8>(a) | static_cast<u8>(b)); }
constexpr bool has(Dest set, Dest d) { return (static_cast<u8>(set) & static_cast<u8>(d)) != 0; }

class ForwardingPolicy {
  public:
    [[nodiscard]] virtual bool copy_out() const = 0;
    // A frame the device received.
    virtual Dest from_wire(Frame f) = 0;
    // A frame the guest sent: the whole frame in copy-out mode; in zero-copy mode at least its
    // 14-byte header (and Wire is implied: the device already has the guest's buffers).
    virtual Dest from_guest(Frame f) = 0;
    // A frame the monitor's own stack sent.
    virtual Dest from_monitor(Frame f) = 0;

  protected:
    ~ForwardingPolicy() = default;
};

// The device side of a NIC: transmits a frame from monitor memory (copied during the call).
class WireSide {
  public:
    // NoMemory when the device's monitor buffers are all in flight (the sender retries);
    // Invalid for a frame shorter than 14 bytes or longer than mtu() + 14.
    [[nodiscard]] virtual Status transmit(Frame f) = 0;
    virtual void poll() = 0;  // finish transmissions, receive, complete the guest's ring
    [[nodiscard]] virtual bool link_up() const = 0;
    [[nodiscard]] virtual u32 mtu() const = 0;

  protected:
    ~WireSide() = default;
};

// The guest side: puts a frame into the guest's receive ring as the device would. `meta` is
// the device's own receive information for a frame from the wire (checksum status, VLAN),
// nullptr for a frame the monitor made. False when the guest cannot take it now (counted).
class GuestSide {
  public:
    virtual bool receive(Frame f, void const* meta) = 0;

  protected:
    ~GuestSide() = default;
};

struct SwitchCounters {
    u64 wire_to_guest, wire_to_monitor, wire_dropped;
    u64 guest_to_wire, guest_to_monitor, guest_dropped;
    u64 monitor_to_wire, monitor_to_guest, monitor_dropped;
    u64 guest_full;  // frames for the guest its ring could not take
    u64 wire_own_looped;  // the monitor's own frames back from the wire (a loopback the guest set up)
};

class FrameSwitch final : public nic::FramePort {
  public:
    void init(ForwardingPolicy* policy, WireSide* wire, GuestSide* guest, MacAddr monitor_mac);
    void set_policy(ForwardingPolicy* policy) { policy_ = policy; }
    [[nodiscard]] bool copy_out() const { return policy_->copy_out(); }

    // From the NIC mediator. A frame from the monitor's own MAC goes nowhere, whatever the
    // policy: the monitor's frames never loop back to the guest or to the monitor.
    void from_wire(Frame f, void const* meta);
    // Zero-copy mode: whether the monitor wants a copy of the guest frame with this header.
    [[nodiscard]] bool guest_copy_wanted(Frame header);
    // A whole guest frame: in copy-out mode everything the guest sends; in zero-copy mode the
    // monitor's copy that guest_copy_wanted() asked for (it is not sent again).
    void from_guest(Frame f);

    // For policies that make frames of their own (a VPN's encrypted packets, its replies).
    [[nodiscard]] Status inject_to_wire(Frame f);
    bool inject_to_guest(Frame f);

    // FramePort: the monitor's port.
    [[nodiscard]] Status send(u8 const* frame, size_t len) override;
    void poll() override { wire_->poll(); }
    MacAddr mac() const override { return mac_; }
    u32 mtu() const override { return wire_->mtu(); }
    bool link_up() const override { return wire_->link_up(); }

    SwitchCounters const& counters() const { return c_; }

  private:
    void to_monitor(Frame f) { deliver(f.data, f.len); }

    ForwardingPolicy* policy_{nullptr};
    WireSide* wire_{nullptr};
    GuestSide* guest_{nullptr};
    MacAddr mac_{};
    SwitchCounters c_{};
};

}  // namespace tv::sw
