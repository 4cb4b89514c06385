// How the guest's first instruction runs, in vendor-neutral form. A backend turns this into
// its control structure (VMCB save area, VMCS guest-state area) when it creates the vCPU.
#pragma once

#include "core/types.hpp"
#include "core/vcpu.hpp"

namespace tv {

// Real mode, as a BIOS leaves the CPU when it jumps to a boot sector (the BIOS boot path).
struct RealModeStart {
    u16 cs, ip, ss, sp, ds, es;
    u32 edx;
};

struct TableRegister {  // GDTR / IDTR
    u64 base;
    u16 limit;
};

// A running 64-bit CPU, captured by the UEFI loader just before it handed over: the guest
// continues exactly there (the UEFI boot path virtualizes the firmware in place).
// General-purpose registers other than RSP start at zero.
struct LongModeStart {
    u64 cr0, cr3, cr4;
    u64 efer;  // as the guest had it (never SVME: the backend adds what VM entry needs)
    u64 rip, rsp, rflags;
    TableRegister gdtr, idtr;
    Segment es, cs, ss, ds, fs, gs, ldtr, tr;  // fs/gs base = the FS_BASE/GS_BASE MSRs
    u64 kernel_gs_base, pat;
    u64 star, lstar, cstar, sfmask;
    u64 sysenter_cs, sysenter_esp, sysenter_eip;
};

struct GuestStart {
    enum class Kind : u8 { RealMode, LongMode };
    Kind kind{Kind::RealMode};
    RealModeStart real{};  // when kind == RealMode
    LongModeStart cpu{};   // when kind == LongMode

    static GuestStart real_mode(RealModeStart const& r) { return GuestStart{Kind::RealMode, r, {}}; }
    static GuestStart long_mode(LongModeStart const& s) { return GuestStart{Kind::LongMode, {}, s}; }
};

}  // namespace tv
