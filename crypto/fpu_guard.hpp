// Keeps the guest's SSE state intact while the monitor runs AES code.
//
// The monitor is built with -mgeneral-regs-only and never touches xmm registers, so it does
// not save them on a VM exit: they still hold the guest's values. The AES-NI engine (and
// mbedTLS's AES when the CPU has AES-NI) does use them. Wrap every such call:
//
//     FpuGuard guard;                 // FXSAVE this CPU's guest x87/SSE state
//     xts.encrypt_sectors(...);       // may clobber xmm0-15 and MXCSR
//                                     // ~FpuGuard: FXRSTOR
//
// FXSAVE covers x87, MXCSR and xmm0-15. That is enough because aesni_xts.cpp is built
// without AVX: legacy-SSE instructions leave the upper halves of ymm/zmm and the AVX-512
// registers alone.
//
// Each CPU has its own save area (fpu_area(cpu)): two CPUs encrypting at once must never
// restore each other's registers into their vCPUs. A guard inside another guard on the same
// CPU saves nothing and restores nothing: the outer one holds the guest's state. The areas are
// 64-byte aligned (FXSAVE needs 16) so that a later XSAVE fits.
//
// The first guard on a CPU sets CR4.OSFXSR (without it SSE instructions fault with #UD) and
// clears CR0.EM/TS. These are the monitor's own control registers: the guest's live in the
// VMCB/VMCS. A VMX backend should also put OSFXSR in the VMCS host CR4, which a VM exit loads,
// or every guard pays for a CR4 write.
//
// Host builds (tests, the disk tool) run under an OS that owns the SSE state: the guard is a
// no-op there. Which build this is follows from -ffreestanding (__STDC_HOSTED__ == 0).
#pragma once

#include "core/types.hpp"

namespace tv::crypto {

struct alignas(64) FpuSaveArea {
    u8 bytes[512];  // the FXSAVE image
};
static_assert(sizeof(FpuSaveArea) == 512);

inline constexpr u32 kFpuCpus = 16;  // one area per CPU the monitor can run (core/smp.hpp kMaxCpus)

// The save area of CPU `cpu` (0 = the boot CPU); cpu < kFpuCpus.
FpuSaveArea& fpu_area(u32 cpu);

#if __STDC_HOSTED__
inline u32 fpu_enter() { return 0; }
inline void fpu_leave(u32) {}
inline constexpr bool kFpuGuardSaves = false;
#else
// On the running CPU: enable SSE if needed, then FXSAVE (outermost guard only). Returns the
// CPU's index for fpu_leave (the monitor never moves between CPUs inside a guard).
u32 fpu_enter();
void fpu_leave(u32 cpu);  // FXRSTOR (outermost guard only)
inline constexpr bool kFpuGuardSaves = true;
#endif

class FpuGuard final {
  public:
    FpuGuard() : cpu_{fpu_enter()} {}
    ~FpuGuard() { fpu_leave(cpu_); }
    FpuGuard(FpuGuard const&) = delete;
    FpuGuard& operator=(FpuGuard const&) = delete;

  private:
    u32 cpu_;
};

}  // namespace tv::crypto
