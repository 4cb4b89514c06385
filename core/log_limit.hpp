// Repeated refusals, rate-limited: a guest that sends the same refused command a thousand
// times must not bury the log (issue 22: 29-63 "refused PACKET" lines per boot hid the rest).
// Per device and cause, the first kLinesPerCause occurrences are logged and every one is
// counted; at power-off one summary line per cut cause gives the total. Shared by every
// mediator (IDE, AHCI, e1000, the AoE disk, PCI).
//
// LogLimiter is pure (host-tested in tests/unit/test_log_limit.cpp); log_limit_allow() and
// the power-off summary are the monitor's one instance (log_limit_monitor.cpp).
#pragma once

#include "core/types.hpp"
#include "lib/spinlock.hpp"

namespace tv {

class LogLimiter {
  public:
    static constexpr u32 kCauses = 48;
    static constexpr u32 kLinesPerCause = 4;
    static constexpr u32 kDeviceChars = 32, kCauseChars = 72;

    // Counts one occurrence of `cause` on `device` (texts, compared by content up to their
    // kept length); true while it is among the first kLinesPerCause, i.e. to be logged. A
    // cause beyond the table is counted in overflow() and logged only while that is small.
    [[nodiscard]] bool note(char const* device, char const* cause);

    struct Cut {
        char const* device;
        char const* cause;
        u64 total;  // occurrences, logged ones included
    };
    // Calls out(cut, arg) for each cause with occurrences that were not logged.
    void each_cut(void (*out)(Cut const&, void*), void* arg) const;
    u64 overflow() const { return overflow_; }

  private:
    struct Entry {
        char device[kDeviceChars];
        char cause[kCauseChars];
        u64 count;
    };
    Entry entries_[kCauses]{};
    u32 used_{0};
    u64 overflow_{0};
    mutable SpinLock lock_{};
};

// The monitor's limiter: true if this refusal is to be logged (the caller logs it as before).
[[nodiscard]] bool log_limit_allow(char const* device, char const* cause);
// Registers the power-off summary (once; at boot, where mediators register their counters).
void log_limit_install();

}  // namespace tv
