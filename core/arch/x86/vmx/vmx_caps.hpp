// What this CPU's VT-x can do, from the IA32_VMX_* capability MSRs, and the control values
// the monitor runs with. Pure: the MSRs are read elsewhere (vmx_backend.cpp), so that the
// decisions are host-tested against the values of real and emulated CPUs.
#pragma once

#include <stddef.h>

#include "core/types.hpp"

namespace tv::vmx {

namespace msr {
inline constexpr u32 kBasic = 0x480, kPinCtls = 0x481, kProcCtls = 0x482, kExitCtls = 0x483, kEntryCtls = 0x484;
inline constexpr u32 kMisc = 0x485, kCr0Fixed0 = 0x486, kCr0Fixed1 = 0x487, kCr4Fixed0 = 0x488, kCr4Fixed1 = 0x489;
inline constexpr u32 kProcCtls2 = 0x48B, kEptVpidCap = 0x48C;
inline constexpr u32 kTruePinCtls = 0x48D, kTrueProcCtls = 0x48E, kTrueExitCtls = 0x48F, kTrueEntryCtls = 0x490;
inline constexpr u32 kPat = 0x277;
}  // namespace msr

inline constexpr u64 kBasicTrueCtls = 1ull << 55;
inline constexpr u64 kFeatureControlLock = 1ull << 0;
inline constexpr u64 kFeatureControlVmx = 1ull << 2;  // VMX outside SMX

// The raw inputs. Each control MSR holds the bits that must be 1 in its low half and the bits
// that may be 1 in its high half. The TRUE_* values replace the legacy ones when
// IA32_VMX_BASIC bit 55 is set (they allow clearing "default1" controls such as CR3 exiting).
struct VmxMsrs {
    bool cpuid_vmx;       // CPUID.1:ECX[5]
    bool cpuid_1g_pages;  // CPUID.80000001h:EDX[26]: the core maps 1 GiB nested leaves then
    u64 feature_control;
    u64 basic, misc;
    u64 pin, proc, proc2, exit, entry;  // already the TRUE_* values where they exist
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    u64 ept_vpid_cap;
};

// What the monitor runs with.
struct VmxCaps {
    u32 revision;
    u32 pin, proc, proc2, exit, entry;  // control values, the must-be-1 bits included
    u64 cr0_fixed0, cr0_fixed1;         // fixed0 without PE/PG (unrestricted guest)
    u64 cr4_fixed0, cr4_fixed1;
    bool invept_single;                 // else INVEPT all-context
    bool mtf;                           // monitor trap flag, else single steps use RFLAGS.TF
    bool pat;                           // guest PAT switched through the VMCS
    bool feature_control_unlocked;      // the monitor must enable and lock VMX itself
    // NMI exiting with virtual NMIs and NMI-window exiting: another CPU can make this one leave
    // the guest with an NMI (an INIT for a CPU halted in guest code), and the guest's own NMIs
    // are injected when it can take them. Without all three, NMIs go straight to the guest.
    bool nmi_kick;
    // The VMX preemption timer (pin control bit 6), which counts down at the TSC rate divided
    // by 2^preemption_shift: the monitor clock's deadline (core/timer.hpp). Not switched on
    // in `pin`; the vCPU sets it per entry while the clock wants control.
    bool preemption_timer;
    u8 preemption_shift;
};

// False, with a reason naming the missing feature, when the CPU cannot run the guest
// protected: VMX, EPT (4-level walks, write-back, 2 MiB pages, INVEPT), unrestricted guest
// and the controls the backend relies on.
[[nodiscard]] bool evaluate_caps(VmxMsrs const& m, VmxCaps* out, char* why, size_t n);

}  // namespace tv::vmx
