// The initiator's I/O on a Linux host: AoE frames through an AF_PACKET socket bound to one
// interface, and CLOCK_MONOTONIC. Host-only (sockets); the monitor has its own NIC mediator.
#pragma once

#include "aoe/initiator.hpp"

namespace tv::aoe::host {

class RawSocket final : public FrameTx {
  public:
    RawSocket() = default;
    RawSocket(RawSocket const&) = delete;
    RawSocket& operator=(RawSocket const&) = delete;
    ~RawSocket();

    // Opens a socket that sees only AoE frames on ifname. Needs CAP_NET_RAW. On failure
    // error() says why.
    [[nodiscard]] Status open(char const* ifname);

    // NoMemory when the kernel's queue is full: the frame is lost, the initiator resends it.
    [[nodiscard]] Status send(u8 const* frame, size_t len) override;

    // One received frame (never one of our own outgoing ones), waiting at most timeout_us for
    // it. Returns its length, 0 when none arrived in time, -1 on a socket error.
    long receive(u8* buf, size_t cap, u64 timeout_us);

    Mac mac() const { return mac_; }
    u32 mtu() const { return mtu_; }
    char const* error() const { return error_; }

  private:
    Status fail(char const* what, Status s);  // records errno's text, closes, returns s

    int fd_{-1};
    int ifindex_{0};
    Mac mac_{};
    u32 mtu_{0};
    char error_[160]{};
};

class MonotonicClock final : public Clock {
  public:
    u64 now_us() override;
};

// One turn of a host event loop: waits for a frame or the initiator's next timer (never longer
// than max_wait_us), hands every frame that arrived to the initiator and runs its timers.
// False on a socket error.
[[nodiscard]] bool step(Initiator& ini, RawSocket& sock, Clock& clock, u64 max_wait_us);

}  // namespace tv::aoe::host
