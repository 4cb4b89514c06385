// The per-CPU save areas, and the monitor side of FpuGuard; host builds use the inline no-ops
// in the header.
#include "crypto/fpu_guard.hpp"

#if !__STDC_HOSTED__
#include "core/smp.hpp"
#endif

namespace tv::crypto {

namespace {

struct CpuFpu {
    FpuSaveArea area;
    u32 depth;  // guards open on this CPU; only the outermost saves and restores
};

CpuFpu g_cpu_fpu[kFpuCpus];

}  // namespace

FpuSaveArea& fpu_area(u32 cpu) { return g_cpu_fpu[cpu].area; }

#if !__STDC_HOSTED__

static_assert(kFpuCpus >= kMaxCpus, "every CPU the monitor brings up needs its own FPU save area");

namespace {

constexpr u64 kCr0Mp = 1ull << 1;  // WAIT honours TS (required with SSE)
constexpr u64 kCr0Em = 1ull << 2;  // x87/SSE emulation: SSE instructions #UD
constexpr u64 kCr0Ts = 1ull << 3;  // task switched: SSE instructions #NM
constexpr u64 kCr4Osfxsr = 1ull << 9;
constexpr u64 kCr4Osxmmexcpt = 1ull << 10;

void enable_sse() {
    u64 cr0 = 0;
    u64 cr4 = 0;
    asm volatile("mov %%cr0, %0" : "=r"(cr0));
    if ((cr0 & (kCr0Em | kCr0Ts)) != 0 || (cr0 & kCr0Mp) == 0) {
        cr0 = (cr0 & ~(kCr0Em | kCr0Ts)) | kCr0Mp;
        asm volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
    }
    asm volatile("mov %%cr4, %0" : "=r"(cr4));
    if ((cr4 & kCr4Osfxsr) == 0) {
        cr4 |= kCr4Osfxsr | kCr4Osxmmexcpt;
        asm volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
    }
}

}  // namespace

u32 fpu_enter() {
    u32 const cpu = this_cpu();
    CpuFpu& c = g_cpu_fpu[cpu];
    if (c.depth++ != 0) return cpu;
    // Before FXSAVE: with CR4.OSFXSR clear, FXSAVE may leave the xmm registers out.
    enable_sse();
    asm volatile("fxsave64 %0" : "=m"(c.area) : : "memory");
    return cpu;
}

void fpu_leave(u32 cpu) {
    CpuFpu& c = g_cpu_fpu[cpu];
    if (--c.depth != 0) return;
    asm volatile("fxrstor64 %0" : : "m"(c.area) : "memory");
}

#endif

}  // namespace tv::crypto
