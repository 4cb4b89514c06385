// An ICMP echo client on the monitor's own stack (lwIP raw API): sends echo requests to one
// target at a fixed interval and counts the replies, the requests that found none within the
// timeout, and the sends that failed. Small and reusable: `[network] ping` uses one to show the
// monitor reaching the guest on the shared NIC, and a gateway liveness check can take another.
//
// Polled like the stack: tick() with the monitor clock's milliseconds, on the CPU that ticks
// the stack (lwIP is single-threaded). Host-tested on the fake port (test_net_ping.cpp).
#pragma once

#include "core/types.hpp"

namespace tv::net {

struct PingPlan {
    u32 target;       // IPv4, network byte order
    u32 interval_ms;  // between two requests
    u32 timeout_ms;   // a request without a reply by then counts as a timeout
    u32 count;        // requests to send; 0: until stop()
};

struct PingCounts {
    u32 sent, replies, timeouts, send_failed;
    u32 last_rtt_ms;  // of the latest reply
};

class Pinger {
  public:
    // After stack_start(). Invalid for a zero target, interval or timeout; NoMemory when lwIP
    // has no raw PCB left.
    [[nodiscard]] Status start(PingPlan const& plan, u64 now_ms);
    void stop();
    void tick(u64 now_ms);
    PingCounts counts() const { return counts_; }
    bool running() const { return pcb_ != nullptr; }
    // Every request sent has its reply or its timeout (count reached).
    bool finished() const;

    // The lwIP receive hook's entry: an echo reply (IPv4 packet from `src`); true if it was ours.
    bool on_reply(u32 src, u8 const* icmp, u32 len, u64 now_ms);

  private:
    static constexpr u32 kWindow = 4;  // requests in flight at once
    struct Flight {
        u16 seq;
        bool live;
        u64 sent_ms;
    };
    void send(u64 now_ms);

    void* pcb_{nullptr};  // struct raw_pcb
    PingPlan plan_{};
    u16 id_{0};
    u16 next_seq_{0};
    u64 next_send_ms_{0};
    Flight flights_[kWindow]{};
    PingCounts counts_{};
};

}  // namespace tv::net
