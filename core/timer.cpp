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
constexpr u32 kTpr = 0x80, kIsr = 0x100, kIrr = 0x200;  // xAPIC offsets; x2APIC MSR = 0x800 + offset / 16

u32 apic_read(u64 base, u32 offset) {
    if (base & kApicX2) return static_cast<u32>(x86::rdmsr(kX2apicMsrBase + offset / 16));
    auto const* page = static_cast<u32 const volatile*>(phys_to_virt(base & ~0xFFFull));
    return page[offset / 4];
}

// Highest vector set in the 256-bit register at `offset` (ISR, IRR), 0 when none.
u32 apic_highest(u64 base, u32 offset) {
    for (u32 i = 8; i-- > 0;) {
        u32 const bits = apic_read(base, offset + i * 0x10);
        if (bits) return i * 32 + 31 - static_cast<u32>(__builtin_clz(bits));
    }
    return 0;
}

// An interrupt the local APIC would hand to the guest now: its priority class above both the
// task priority and the one in service. Reading IRR, ISR and TPR changes nothing. Interrupts
// through the 8259 (ExtINT) do not show here: the halt slice bounds their wait.
bool apic_interrupt_deliverable() {
    u64 const base = x86::rdmsr(kApicBaseMsr);
    if (!(base & kApicEnable)) return false;
    u32 const irr = apic_highest(base, kIrr);
    if (irr < 16) return false;
    u32 const isr = apic_highest(base, kIsr);
    u32 const tpr = apic_read(base, kTpr) & 0xFF;
    u32 const floor = (isr >> 4) > (tpr >> 4) ? isr >> 4 : tpr >> 4;
    return (irr >> 4) > floor;
}

}  // namespace

u32 apic_highest_in_service() {
    u64 const base = x86::rdmsr(kApicBaseMsr);
    return base & kApicEnable ? apic_highest(base, kIsr) : 0;
}

ApicSnapshot apic_snapshot() {
    u64 const base = x86::rdmsr(kApicBaseMsr);
    if (!(base & kApicEnable)) return ApicSnapshot{0, 0, 0};
    return ApicSnapshot{apic_highest(base, kIsr), apic_highest(base, kIrr), apic_read(base, kTpr) & 0xFF};
}

u64 timer_late_us() {
    if (this_cpu() != g_timer_cpu || g_jobs.empty()) return 0;
    u64 const now = clock_us(), next = g_jobs.next_us();
    return now > next ? now - next : 0;
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
    // Not from inside a job: a wait that runs the jobs (an AoE disk command) may one day be
    // reached from one, and the table is not re-entrant.
    static constinit bool running = false;
    if (this_cpu() != g_timer_cpu || running) return;
    running = true;
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
    running = false;
}

u64 timer_deadline_tsc() {
    if (this_cpu() != g_timer_cpu || g_jobs.empty()) return kNoDeadline;
    return clock_tsc_at(g_jobs.next_us());
}

// Between two looks at the local APIC the CPU only reads the TSC: under an emulator each APIC
// access may take the lock its I/O thread needs to deliver the very frames and interrupts the
// monitor waits for, so looking flat out delayed them. 20 us is nothing next to a tick.
constexpr u64 kHaltPollGapUs = 20;

void timer_halt_wait() {
    u64 const end = clock_us() + kHaltSliceUs;
    while (clock_us() < end) {
        timer_run_due();
        if (apic_interrupt_deliverable()) return;
        clock_delay_us(kHaltPollGapUs);
    }
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
