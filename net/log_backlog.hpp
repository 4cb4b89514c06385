// Log lines waiting for the syslog export: filled by the log sink (any time, also before the
// network is up) and drained by the network tick. Bounded, so a dead link never grows the
// monitor: when full, the NEWEST lines are dropped and counted (the oldest are the boot's, the
// ones an operator reading a remote log needs most). Lines are cut at kLineMax bytes.
// One producer and one consumer: pushes come from any CPU but one at a time (under the log
// lock); only the CPU that owns the network stack reads and pops. The indices are published
// with release/acquire so a reader never sees a slot before its text.
#pragma once

#include "core/types.hpp"

namespace tv::net {

class LogBacklog {
  public:
    static constexpr u32 kSlots = 128;
    static constexpr u32 kLineMax = 240;

    // Stores one line (without its newline; trailing CR/LF are cut). Empty lines are ignored.
    void push(char const* line, size_t len);
    bool empty() const { return size() == 0; }
    u32 size() const {
        return __atomic_load_n(&tail_, __ATOMIC_ACQUIRE) - __atomic_load_n(&head_, __ATOMIC_ACQUIRE);
    }
    // The oldest held line; only valid when !empty(), until the next pop().
    char const* front(size_t* len) const;
    void pop();

    u64 dropped() const { return dropped_; }
    u64 truncated() const { return truncated_; }

  private:
    struct Slot {
        u16 len;
        char text[kLineMax];
    };
    Slot slots_[kSlots]{};
    u32 head_{0};  // free-running; slot = index % kSlots
    u32 tail_{0};
    u64 dropped_{0};
    u64 truncated_{0};
};

}  // namespace tv::net
