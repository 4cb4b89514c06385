// The monitor's own time: periodic jobs (the network stack's tick, later VPN timers) that run
// within 10 ms of their deadlines whatever the guest does. They run on one CPU, the timer
// CPU: the one that added the first job (the boot CPU, which also runs the network stack).
// Before each entry the vendor backend asks when it must be back (timer_deadline_tsc) and
// arranges an exit by then: VMX with its preemption timer, SVM with interrupt and HLT exits
// (docs/architecture.md, "The monitor clock").
#pragma once

#include "core/types.hpp"

namespace tv {

inline constexpr u64 kNoDeadline = ~0ull;

// A job run every `period_us` from now on, on the calling CPU (the first call picks the timer
// CPU; a later call from another CPU is refused). False when refused or the table is full.
[[nodiscard]] bool timer_add_periodic(void (*job)(), u64 period_us);

// At the start of every exit's handling (core/dispatch.cpp): notes the time on the timer CPU,
// so a long hold-off can be told apart from the monitor's own wait in a handler.
void timer_exit_begin();
// At every exit: runs what is due, on the timer CPU only; one compare elsewhere. Also from a
// wait inside one exit's handler (the AoE disk's wait for its target), so that wait does not
// hold the jobs off: callable under a device lock, since no job takes a disk's lock; a call
// from inside a job returns at once.
void timer_run_due();

// For the backends, before each entry: the TSC value by which this CPU must be back in the
// monitor; kNoDeadline on the other CPUs and while there is no job.
u64 timer_deadline_tsc();

// The guest halted (SVM's HLT exit while the timer wants control): waits in the monitor,
// running due jobs, until the local APIC holds an interrupt the guest would take or a short
// slice (kHaltSliceUs) ends, whichever is first. The backend re-enters at the HLT.
void timer_halt_wait();
inline constexpr u64 kHaltSliceUs = 1'000;

// The highest vector the local APIC holds in service (ISR), 0 when none. Reads only.
u32 apic_highest_in_service();
// The local APIC as a hang diagnosis wants it: highest in service, highest requested, TPR.
struct ApicSnapshot {
    u32 isr, irr, tpr;
};
ApicSnapshot apic_snapshot();

// How long the earliest job is overdue now, on the timer CPU (0 when none is, or elsewhere).
u64 timer_late_us();

// One log line: runs, how late the latest ran, runs later than 10 ms.
void timer_log_stats();

}  // namespace tv
