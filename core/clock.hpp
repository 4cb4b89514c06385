// The monitor's monotonic clock: the TSC, calibrated once against the PIT at boot.
// Network timers (AoE retransmission, lwIP) and device timeouts read it; nothing in the
// monitor sleeps, it polls against this clock.
#pragma once

#include "core/types.hpp"

namespace tv {

// Calibrates the TSC against PIT channel 2 (about 20 ms). Called once, before the guest runs
// (the guest owns the PIT afterwards).
void clock_init();
u64 clock_us();   // microseconds since clock_init()
u64 tsc_khz();    // as calibrated; 0 before clock_init()
// The TSC value at clock_us() == us (a deadline for the VMX preemption timer).
u64 clock_tsc_at(u64 us);
// Busy-waits at least `us` microseconds.
void clock_delay_us(u64 us);

}  // namespace tv
