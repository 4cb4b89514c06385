// The monitor's own link on a NIC it shares with the guest (drivers/nic mediators implement
// it; net/ and the AoE disk use it). Frames are complete Ethernet frames without FCS.
//
// Which received frames are the monitor's: unicast to the monitor's MAC (never shown to the
// guest), and broadcast/multicast frames (the monitor gets a copy; the guest gets them too).
// Everything else is the guest's. The monitor's frames go out on the same wire between the
// guest's packets, never inside one.
//
// Single-threaded: everything is called from the exit path of the CPU that owns the port.
#pragma once

#include "core/types.hpp"

namespace tv::nic {

struct MacAddr {
    u8 b[6];
    constexpr bool operator==(MacAddr const&) const = default;
};

using RxFn = void (*)(void* ctx, u8 const* frame, size_t len);

class FramePort {
  public:
    // Queues one frame for transmission (copied; the bytes are only read during the call).
    // NoMemory when the monitor's TX slots are full (call poll() and retry); Invalid for a
    // frame shorter than 14 or longer than mtu() + 14.
    [[nodiscard]] virtual Status send(u8 const* frame, size_t len) = 0;
    // Reaps the device: finishes transmissions, hands the monitor's received frames to the
    // receivers (from inside this call) and the guest's to the guest. Cheap when idle.
    virtual void poll() = 0;
    virtual MacAddr mac() const = 0;  // the monitor's own MAC (not the guest's)
    virtual u32 mtu() const = 0;      // payload bytes per frame (1500 unless jumbo)
    virtual bool link_up() const = 0;

    // Receivers by ethertype (host order); ethertype 0 receives every monitor frame no other
    // receiver took. Up to kMaxReceivers; Exists if the ethertype is taken.
    [[nodiscard]] Status add_receiver(u16 ethertype, RxFn fn, void* ctx);

  protected:
    ~FramePort() = default;
    // For implementations: hands one monitor frame to the matching receiver.
    void deliver(u8 const* frame, size_t len);

  private:
    static constexpr u32 kMaxReceivers = 4;
    struct Receiver {
        u16 ethertype;
        RxFn fn;
        void* ctx;
    };
    Receiver rx_[kMaxReceivers]{};
    u32 rx_count_{0};
};

// The port of the first mediated NIC, or nullptr when the monitor has no network.
FramePort* monitor_port();
void set_monitor_port(FramePort* p);

}  // namespace tv::nic
