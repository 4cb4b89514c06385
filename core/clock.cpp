#include "core/clock.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/log.hpp"

namespace tv {
namespace {

constinit u64 g_tsc_khz = 0;
constinit u64 g_tsc_base = 0;

constexpr u32 kPitHz = 1193182;
constexpr u16 kPitTicks = 23864;  // 20 ms of channel 2 in mode 0

// Counts TSC ticks while PIT channel 2 counts down kPitTicks (port 0x61 bit 5 = its OUT).
u64 measure_once() {
    u8 const gate = x86::inb(0x61);
    x86::outb(0x61, static_cast<u8>((gate & ~0x02) | 0x01));  // gate on, speaker off
    x86::outb(0x43, 0xB0);                                     // channel 2, lo/hi, mode 0
    x86::outb(0x42, kPitTicks & 0xFF);
    x86::outb(0x42, kPitTicks >> 8);
    u64 const start = x86::rdtsc();
    u64 spins = 0;
    while (!(x86::inb(0x61) & 0x20)) {
        if (++spins > 100'000'000) break;  // no PIT: give up, the caller falls back
    }
    u64 const end = x86::rdtsc();
    x86::outb(0x61, gate);
    return end - start;
}

}  // namespace

void clock_init() {
    // The smallest of three runs: an emulator that was descheduled in one run overestimates.
    u64 best = ~0ull;
    for (int i = 0; i < 3; ++i) {
        u64 const t = measure_once();
        if (t && t < best) best = t;
    }
    u64 khz = best * kPitHz / (static_cast<u64>(kPitTicks) * 1000);
    if (khz < 1000) {
        log("clock: PIT calibration failed (%llu ticks); assuming a 1 GHz TSC",
            static_cast<unsigned long long>(best));
        khz = 1'000'000;
    }
    g_tsc_khz = khz;
    g_tsc_base = x86::rdtsc();
    log("clock: TSC %llu kHz", static_cast<unsigned long long>(khz));
}

u64 tsc_khz() { return g_tsc_khz; }

u64 clock_us() {
    if (!g_tsc_khz) return 0;
    u64 const d = x86::rdtsc() - g_tsc_base;
    // Split to avoid overflowing d * 1000 after a few hours at GHz rates.
    return d / g_tsc_khz * 1000 + d % g_tsc_khz * 1000 / g_tsc_khz;
}

u64 clock_tsc_at(u64 us) {
    return g_tsc_base + us / 1000 * g_tsc_khz + us % 1000 * g_tsc_khz / 1000;
}

void clock_delay_us(u64 us) {
    u64 const until = clock_us() + us;
    while (clock_us() < until) x86::pause();
}

}  // namespace tv
