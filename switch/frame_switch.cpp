#include "switch/frame_switch.hpp"

#include "switch/mac_policy.hpp"

namespace tv::sw {

void FrameSwitch::init(ForwardingPolicy* policy, WireSide* wire, GuestSide* guest, MacAddr monitor_mac) {
    policy_ = policy;
    wire_ = wire;
    guest_ = guest;
    mac_ = monitor_mac;
}

void FrameSwitch::from_wire(Frame f, void const* meta) {
    if (f.len < 14) return;
    if (src_mac(f) == mac_) {
        ++c_.wire_own_looped;
        return;
    }
    Dest const d = policy_->from_wire(f);
    if (d == Dest::None) ++c_.wire_dropped;
    if (has(d, Dest::Guest)) {
        if (guest_->receive(f, meta)) ++c_.wire_to_guest;
        else ++c_.guest_full;
    }
    if (has(d, Dest::Monitor)) {
        ++c_.wire_to_monitor;
        to_monitor(f);
    }
}

bool FrameSwitch::guest_copy_wanted(Frame header) {
    return !policy_->copy_out() && has(policy_->from_guest(header), Dest::Monitor);
}

void FrameSwitch::from_guest(Frame f) {
    if (!policy_->copy_out()) {  // the monitor's copy of a frame the device sends itself
        ++c_.guest_to_monitor;
        to_monitor(f);
        return;
    }
    Dest const d = policy_->from_guest(f);
    if (d == Dest::None) ++c_.guest_dropped;
    if (has(d, Dest::Wire)) {
        if (ok(wire_->transmit(f))) ++c_.guest_to_wire;
        else ++c_.guest_dropped;
    }
    if (has(d, Dest::Monitor)) {
        ++c_.guest_to_monitor;
        to_monitor(f);
    }
    if (has(d, Dest::Guest) && !guest_->receive(f, nullptr)) ++c_.guest_full;
}

Status FrameSwitch::send(u8 const* frame, size_t len) {
    if (len < 14 || len > wire_->mtu() + 14u) return Status::Invalid;
    Frame const f{frame, static_cast<u32>(len)};
    Dest const d = policy_->from_monitor(f);
    Status s = Status::Ok;
    if (d == Dest::None) ++c_.monitor_dropped;
    if (has(d, Dest::Guest)) {
        if (guest_->receive(f, nullptr)) ++c_.monitor_to_guest;
        else ++c_.guest_full;
    }
    if (has(d, Dest::Wire)) {
        s = wire_->transmit(f);
        if (ok(s)) ++c_.monitor_to_wire;
    }
    return s;
}

Status FrameSwitch::inject_to_wire(Frame f) { return wire_->transmit(f); }

bool FrameSwitch::inject_to_guest(Frame f) {
    if (guest_->receive(f, nullptr)) return true;
    ++c_.guest_full;
    return false;
}

}  // namespace tv::sw
