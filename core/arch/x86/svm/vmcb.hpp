// The AMD VMCB (AMD64 APM vol. 2, appendix B). Only the backend includes this file.
#pragma once

#include <stddef.h>

#include "core/types.hpp"

namespace tv::svm {

struct VmcbSegment {
    u16 selector;
    u16 attrib;
    u32 limit;
    u64 base;
};
static_assert(sizeof(VmcbSegment) == 16);

struct VmcbControl {
    u16 intercept_cr_read;
    u16 intercept_cr_write;
    u16 intercept_dr_read;
    u16 intercept_dr_write;
    u32 intercept_exceptions;
    u32 intercept_misc1;
    u32 intercept_misc2;
    u32 intercept_misc3;
    u8 reserved_018[0x03C - 0x018];
    u16 pause_filter_threshold;
    u16 pause_filter_count;
    u64 iopm_base_pa;
    u64 msrpm_base_pa;
    u64 tsc_offset;
    u32 guest_asid;
    u8 tlb_control;
    u8 reserved_05d[3];
    u64 vintr;
    u64 interrupt_shadow;
    u64 exit_code;
    u64 exit_info1;
    u64 exit_info2;
    u64 exit_int_info;
    u64 np_control;
    u64 avic_apic_bar;
    u64 ghcb_pa;
    u64 event_inj;
    u64 n_cr3;
    u64 lbr_virt;
    u32 clean_bits;
    u32 reserved_0c4;
    u64 next_rip;
    u8 insn_bytes_fetched;
    u8 insn_bytes[15];
    u8 reserved_0e0[0x400 - 0x0E0];
};
static_assert(sizeof(VmcbControl) == 0x400);
static_assert(offsetof(VmcbControl, iopm_base_pa) == 0x40);
static_assert(offsetof(VmcbControl, guest_asid) == 0x58);
static_assert(offsetof(VmcbControl, vintr) == 0x60);
static_assert(offsetof(VmcbControl, exit_code) == 0x70);
static_assert(offsetof(VmcbControl, np_control) == 0x90);
static_assert(offsetof(VmcbControl, event_inj) == 0xA8);
static_assert(offsetof(VmcbControl, n_cr3) == 0xB0);
static_assert(offsetof(VmcbControl, next_rip) == 0xC8);

struct VmcbSave {
    VmcbSegment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
    u8 reserved_0a0[0x0CB - 0x0A0];
    u8 cpl;
    u32 reserved_0cc;
    u64 efer;
    u8 reserved_0d8[0x148 - 0x0D8];
    u64 cr4;
    u64 cr3;
    u64 cr0;
    u64 dr7;
    u64 dr6;
    u64 rflags;
    u64 rip;
    u8 reserved_180[0x1D8 - 0x180];
    u64 rsp;
    u64 s_cet;
    u64 ssp;
    u64 isst_addr;
    u64 rax;
    u64 star;
    u64 lstar;
    u64 cstar;
    u64 sfmask;
    u64 kernel_gs_base;
    u64 sysenter_cs;
    u64 sysenter_esp;
    u64 sysenter_eip;
    u64 cr2;
    u8 reserved_248[0x268 - 0x248];
    u64 g_pat;
    u64 dbgctl;
    u64 br_from;
    u64 br_to;
    u64 last_excp_from;
    u64 last_excp_to;
    u8 reserved_298[0xC00 - 0x298];
};
static_assert(sizeof(VmcbSave) == 0xC00);
static_assert(offsetof(VmcbSave, cpl) == 0xCB);
static_assert(offsetof(VmcbSave, efer) == 0xD0);
static_assert(offsetof(VmcbSave, cr4) == 0x148);
static_assert(offsetof(VmcbSave, rflags) == 0x170);
static_assert(offsetof(VmcbSave, rsp) == 0x1D8);
static_assert(offsetof(VmcbSave, rax) == 0x1F8);
static_assert(offsetof(VmcbSave, cr2) == 0x240);
static_assert(offsetof(VmcbSave, g_pat) == 0x268);

struct alignas(4096) Vmcb {
    VmcbControl control;
    VmcbSave save;
};
static_assert(sizeof(Vmcb) == 4096);

// Intercept bits (misc1 at 0x0C, misc2 at 0x10).
namespace intercept {
inline constexpr u32 kIntr = 1u << 0;
inline constexpr u32 kNmi = 1u << 1;
inline constexpr u32 kInit = 1u << 3;
inline constexpr u32 kVintr = 1u << 4;
inline constexpr u32 kCpuid = 1u << 18;
inline constexpr u32 kIret = 1u << 20;
inline constexpr u32 kInvd = 1u << 22;
inline constexpr u32 kHlt = 1u << 24;
inline constexpr u32 kInvlpga = 1u << 26;
inline constexpr u32 kIoio = 1u << 27;
inline constexpr u32 kMsr = 1u << 28;
inline constexpr u32 kShutdown = 1u << 31;

inline constexpr u32 kVmrun = 1u << 0;
inline constexpr u32 kVmmcall = 1u << 1;
inline constexpr u32 kVmload = 1u << 2;
inline constexpr u32 kVmsave = 1u << 3;
inline constexpr u32 kStgi = 1u << 4;
inline constexpr u32 kClgi = 1u << 5;
inline constexpr u32 kSkinit = 1u << 6;

// What every guest runs with. NMI: the kick another CPU sends after an INIT for this one
// (core/smp.cpp). INIT: a real one (IOAPIC entry, MSI) must not reset a CPU out of SVM; it
// exits and becomes wait-for-SIPI. INVD: would drop the monitor's dirty cache lines. The SVM
// instructions: the guest must see SVM as absent (#UD); VMRUN's bit is mandatory anyway.
inline constexpr u32 kBaseMisc1 = kNmi | kInit | kCpuid | kInvd | kInvlpga | kIoio | kMsr | kShutdown;
inline constexpr u32 kBaseMisc2 = kVmrun | kVmmcall | kVmload | kVmsave | kStgi | kClgi | kSkinit;
// #GP: at CPL 3 those instructions check the privilege level before the intercept, so the
// guest would see #GP where a CPU without SVM gives #UD (core/dispatch.cpp sorts them).
inline constexpr u32 kBaseExceptions = 1u << 13;
}  // namespace intercept

// VMCB vintr (0x60) bits.
namespace vintr {
inline constexpr u64 kVIrq = 1ull << 8;             // a virtual interrupt is pending
inline constexpr u64 kVIntrPrio = 0xFull << 16;     // its priority (all ones: the highest)
inline constexpr u64 kVIgnTpr = 1ull << 20;         // ... delivered whatever the virtual TPR
inline constexpr u64 kVIntrMasking = 1ull << 24;    // host RFLAGS.IF masks physical interrupts
inline constexpr u32 kVectorShift = 32;
inline constexpr u64 kVIntrVector = 0xFFull << kVectorShift;  // its vector
}  // namespace vintr

// Exit codes.
namespace exit_code {
inline constexpr u64 kExceptionBase = 0x40;
inline constexpr u64 kIntr = 0x60;
inline constexpr u64 kNmi = 0x61;
inline constexpr u64 kInit = 0x63;
inline constexpr u64 kVintr = 0x64;
inline constexpr u64 kCpuid = 0x72;
inline constexpr u64 kIret = 0x74;
inline constexpr u64 kInvd = 0x76;
inline constexpr u64 kHlt = 0x78;
inline constexpr u64 kInvlpga = 0x7A;
inline constexpr u64 kIoio = 0x7B;
inline constexpr u64 kMsr = 0x7C;
inline constexpr u64 kShutdown = 0x7F;
inline constexpr u64 kVmrun = 0x80;
inline constexpr u64 kVmmcall = 0x81;
inline constexpr u64 kVmload = 0x82;
inline constexpr u64 kVmsave = 0x83;
inline constexpr u64 kStgi = 0x84;
inline constexpr u64 kClgi = 0x85;
inline constexpr u64 kSkinit = 0x86;
inline constexpr u64 kXsetbv = 0x8D;
inline constexpr u64 kNpf = 0x400;
inline constexpr u64 kInvalid = ~0ull;
}  // namespace exit_code

}  // namespace tv::svm
