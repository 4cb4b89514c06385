#include "core/timer.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/clock.hpp"
#include "core/deadlines.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/smp.hpp"

namespace tv {

namespace {

constinit Deadlines g_jobs;
constinit u32 g_timer_cpu = ~0u;
constinit u64 g_exit_start_us = 0;  // when the timer CPU's current exit reached the core

constexpr u32 kApicBaseMsr = 0x1B;
constexpr u64 kApicEnable = 1ull << 11, kApicX2 = 1ull << 10;
constexpr u32 kX2apicMsrBase = 0x800;
constexpr u32 kIsr = 0x100;  // xAPIC offset; x2APIC MSR = 0x800 + offset / 16

u32 apic_read(u64 base, u32 offset) {
    if (base & kApicX2) return static_cast<u32>(x86::rdmsr(kX2apicMsrBase + offset / 16));
    auto const* page = static_cast<u32 const volatile*>(phys_to_virt(base & ~0xFFFull));
    return page[offset / 4];
}

// Highest vector set in the 256-bit register at `offset` (the ISR), 0 when none.
u32 apic_highest(u64 base, u32 offset) {
    for (u32 i = 8; i-- > 0;) {
        u32 const bits = apic_read(base, offset + i * 0x10);
        if (bits) return i * 32 + 31 - static_cast<u32>(__builtin_clz(bits));
    }
    return 0;
}

}  // namespace

u32 apic_highest_in_service() {
    u64 const base = x86::rdmsr(kApicBaseMsr);
    return base & kApicEnable ? apic_highest(base, kIsr) : 0;
}

bool timer_add_periodic(void (*job)(), u64 period_us) {
    if (g_timer_cpu == ~0u) g_timer_cpu = this_cpu();
    if (g_timer_cpu != this_cpu()) return false;
    return g_jobs.add(job, period_us, clock_us());
}

void timer_exit_begin() {
    if (this_cpu() == g_timer_cpu) g_exit_start_us = clock_us();
}

void timer_run_due() {
    if (this_cpu() != g_timer_cpu) return;
    u64 const now = clock_us(), next = g_jobs.next_us();
    // Held off for a second or more: a guest with interrupts off and no exits (SVM;
    // docs/architecture.md), or the monitor itself waiting inside one exit's handler (an AoE
    // disk command across an outage). Logged, with the guest's place in the log around it.
    auto ms = [](u64 us) { return static_cast<unsigned long long>(us / 1000); };
    switch (hold_off(now, next, g_exit_start_us)) {
        case HoldOff::None: break;
        case HoldOff::Guest: log("clock: held off %llu ms by the guest", ms(now - next)); break;
        case HoldOff::Monitor:
            log("clock: held off %llu ms, %llu ms of it in the monitor's handling of one exit", ms(now - next),
                ms(now - g_exit_start_us));
            break;
    }
    (void)g_jobs.run_due(now);
}

u64 timer_deadline_tsc() {
    if (this_cpu() != g_timer_cpu || g_jobs.empty()) return kNoDeadline;
    return clock_tsc_at(g_jobs.next_us());
}

// The guest halted: the monitor spins on the TSC alone, running due jobs, for one short slice,
// then re-enters at the HLT, where the CPU itself checks for a pending interrupt (with
// V_INTR_MASKING one exits at once, an 8259 one too). It looks at no local APIC register:
// under QEMU each APIC access takes the lock the I/O thread needs to deliver the frames and
// interrupts the monitor waits for, and polling IRR every 20 us (up to 8 reads each) starved
// that thread on a loaded host: idle pings queued up for 1.4 s. An exit every 200 us takes
// that lock some 100 times less often, and wakes the guest within a slice.
void timer_halt_wait() {
    u64 const end = clock_us() + kHaltSliceUs;
    do {
        timer_run_due();
        clock_delay_us(kHaltPollGapUs);
    } while (clock_us() < end);
}

void timer_log_stats() {
    if (g_jobs.empty()) return;
    auto n = [](u64 v) { return static_cast<unsigned long long>(v); };
    log("clock: %llu timed runs, latest %llu us after its deadline, %llu later than %llu ms "
        "(late by <=1 ms %llu, <=10 ms %llu, <=50 ms %llu, more %llu)",
        n(g_jobs.runs()), n(g_jobs.max_late_us()), n(g_jobs.late_runs()), n(Deadlines::kLateUs / 1000),
        n(g_jobs.runs_late_by(0)), n(g_jobs.runs_late_by(1)), n(g_jobs.runs_late_by(2)), n(g_jobs.runs_late_by(3)));
}

}  // namespace tv
