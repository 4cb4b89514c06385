// Keeps the guest's SSE state intact while the monitor runs AES code.
//
// The monitor is built with -mgeneral-regs-only and never touches xmm registers, so it does
// not save them on a VM exit: they still hold the guest's values. The AES-NI engine (and
// mbedTLS's AES when the CPU has AES-NI) does use them. Wrap every such call:
//
//     FpuGuard guard{cpu.fpu_area};   // FXSAVE the guest's x87/SSE state
//     xts.encrypt_sectors(...);       // may clobber xmm0-15 and MXCSR
//                                     // ~FpuGuard: FXRSTOR
//
// FXSAVE covers x87, MXCSR and xmm0-15. That is enough because aesni_xts.cpp is built
// without AVX: legacy-SSE instructions leave the upper halves of ymm/zmm and the AVX-512
// registers alone. The save area belongs to the caller (one per CPU; the guard is not
// reentrant) and must be 16-byte aligned; it is 64-byte aligned so that a later XSAVE fits.
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

#if __STDC_HOSTED__
inline void fpu_enter(FpuSaveArea&) {}
inline void fpu_leave(FpuSaveArea&) {}
inline constexpr bool kFpuGuardSaves = false;
#else
void fpu_enter(FpuSaveArea& area);  // enable SSE if needed, then FXSAVE
void fpu_leave(FpuSaveArea& area);  // FXRSTOR
inline constexpr bool kFpuGuardSaves = true;
#endif

class FpuGuard final {
  public:
    explicit FpuGuard(FpuSaveArea& area) : area_{area} { fpu_enter(area_); }
    ~FpuGuard() { fpu_leave(area_); }
    FpuGuard(FpuGuard const&) = delete;
    FpuGuard& operator=(FpuGuard const&) = delete;

  private:
    FpuSaveArea& area_;
};

}  // namespace tv::crypto
