// The monitor's periodic work as a short list of jobs, each with a period and its next
// deadline (the network stack's tick, AoE and later VPN timers). Pure and host-tested: the
// caller passes the time, core/timer.cpp the clock and the CPU that runs them.
#pragma once

#include "core/types.hpp"

namespace tv {

class Deadlines {
  public:
    using Job = void (*)();
    static constexpr u32 kMaxJobs = 8;
    static constexpr u64 kNone = ~0ull;

    // A job first due one period after `now_us`. False when the table is full.
    [[nodiscard]] bool add(Job job, u64 period_us, u64 now_us);

    // The earliest deadline, kNone when there is no job.
    u64 next_us() const;

    // Runs every job whose deadline is at or before `now_us`, once each; returns how many ran.
    // A job that missed whole periods runs once and is next due a period from now, so a
    // monitor held off for a while does not run a burst of catch-up ticks.
    u32 run_due(u64 now_us);

    bool empty() const { return count_ == 0; }
    // How late the latest jobs ran after their deadlines: the figure the 10 ms promise is about.
    u64 max_late_us() const { return max_late_us_; }
    u64 runs() const { return runs_; }
    u64 late_runs() const { return late_runs_; }  // later than kLateUs
    static constexpr u64 kLateUs = 10'000;
    // Runs by lateness: up to 1 ms, up to 10 ms, up to 50 ms, later.
    static constexpr u32 kBuckets = 4;
    u64 runs_late_by(u32 bucket) const { return bucket < kBuckets ? buckets_[bucket] : 0; }

  private:
    struct Entry {
        Job job;
        u64 period_us;
        u64 due_us;
    };
    Entry jobs_[kMaxJobs]{};
    u32 count_{0};
    u64 max_late_us_{0};
    u64 runs_{0};
    u64 late_runs_{0};
    u64 buckets_[kBuckets]{};
};

// Who held the jobs off when they run a second or more after their deadline `due_us`: the
// monitor itself when at least half of it was spent inside the current exit's handling (which
// began at `exit_start_us`; an AoE disk command waiting out a target outage), else the guest
// (no exit came: SVM with the guest's interrupts off). None below kHeldOffUs.
enum class HoldOff : u8 { None, Guest, Monitor };
inline constexpr u64 kHeldOffUs = 1'000'000;

constexpr HoldOff hold_off(u64 now_us, u64 due_us, u64 exit_start_us) {
    if (due_us == Deadlines::kNone || now_us <= due_us || now_us - due_us < kHeldOffUs) return HoldOff::None;
    u64 const in_exit = now_us > exit_start_us ? now_us - exit_start_us : 0;
    return in_exit * 2 >= now_us - due_us ? HoldOff::Monitor : HoldOff::Guest;
}

}  // namespace tv
