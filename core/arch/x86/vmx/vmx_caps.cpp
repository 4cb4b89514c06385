#include "core/arch/x86/vmx/vmx_caps.hpp"

#include <stdio.h>

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/vmx/vmcs.hpp"

namespace tv::vmx {

namespace {

constexpr u64 kMiscStoresLma = 1ull << 5;  // exits record EFER.LMA in the IA-32e entry control

// IA32_VMX_EPT_VPID_CAP
constexpr u64 kEptWalk4 = 1ull << 6;
constexpr u64 kEptWb = 1ull << 14;
constexpr u64 kEpt2m = 1ull << 16;
constexpr u64 kEpt1g = 1ull << 17;
constexpr u64 kInvept = 1ull << 20;
constexpr u64 kInveptSingle = 1ull << 25;
constexpr u64 kInveptAll = 1ull << 26;

constexpr u32 must_be_1(u64 ctl_msr) { return static_cast<u32>(ctl_msr); }
constexpr u32 may_be_1(u64 ctl_msr) { return static_cast<u32>(ctl_msr >> 32); }
constexpr bool offers(u64 ctl_msr, u32 bits) { return (may_be_1(ctl_msr) & bits) == bits; }
// The control value: what we want, plus what the CPU insists on, minus what it cannot do.
constexpr u32 choose(u64 ctl_msr, u32 want) { return (want | must_be_1(ctl_msr)) & may_be_1(ctl_msr); }

bool refuse(char* why, size_t n, char const* reason) {
    snprintf(why, n, "%s", reason);
    return false;
}

// The features without which the guest cannot run protected, in the order a user can act on.
bool check_required(VmxMsrs const& m, char* why, size_t n) {
    if (!m.cpuid_vmx) return refuse(why, n, "this CPU does not offer Intel VT-x (VMX)");
    if ((m.feature_control & kFeatureControlLock) && !(m.feature_control & kFeatureControlVmx))
        return refuse(why, n,
                      "Intel VT-x (VMX) is disabled by the firmware (IA32_FEATURE_CONTROL is locked with VMX off)");
    if (((m.basic >> 32) & 0x1FFF) > 4096) return refuse(why, n, "this CPU's VMCS does not fit in a 4 KiB page");
    if (!offers(m.proc, proc::kSecondary) || !offers(m.proc2, proc2::kEpt))
        return refuse(why, n,
                      "this CPU has VT-x but no extended page tables (EPT), which thinvisor needs to protect its memory");
    if (!(m.ept_vpid_cap & kEptWalk4)) return refuse(why, n, "EPT on this CPU lacks 4-level page walks");
    if (!(m.ept_vpid_cap & kEptWb)) return refuse(why, n, "EPT on this CPU lacks the write-back memory type");
    if (!(m.ept_vpid_cap & kEpt2m)) return refuse(why, n, "EPT on this CPU lacks 2 MiB pages");
    if (m.cpuid_1g_pages && !(m.ept_vpid_cap & kEpt1g))
        return refuse(why, n, "EPT on this CPU lacks the 1 GiB pages its paging offers");
    if (!(m.ept_vpid_cap & kInvept) || !(m.ept_vpid_cap & (kInveptSingle | kInveptAll)))
        return refuse(why, n, "this CPU's VT-x lacks the INVEPT instruction");
    if (!offers(m.proc2, proc2::kUnrestricted) || !(m.misc & kMiscStoresLma))
        return refuse(why, n,
                      "this CPU has VT-x with EPT but no unrestricted guest mode, which thinvisor needs to boot the "
                      "guest from real mode");
    if (!offers(m.proc, proc::kUseIoBitmaps | proc::kUseMsrBitmaps))
        return refuse(why, n, "this CPU's VT-x lacks I/O or MSR bitmaps");
    if (!offers(m.exit, exit_ctl::kHost64 | exit_ctl::kSaveEfer | exit_ctl::kLoadEfer) ||
        !offers(m.entry, entry_ctl::kLoadEfer))
        return refuse(why, n, "this CPU's VT-x cannot switch IA32_EFER on VM entry and exit");
    return true;
}

}  // namespace

bool evaluate_caps(VmxMsrs const& m, VmxCaps* out, char* why, size_t n) {
    if (!check_required(m, why, n)) return false;
    VmxCaps c{};
    c.revision = static_cast<u32>(m.basic) & 0x7FFFFFFF;
    c.mtf = offers(m.proc, proc::kMtf);
    c.pat = offers(m.exit, exit_ctl::kSavePat | exit_ctl::kLoadPat) && offers(m.entry, entry_ctl::kLoadPat);
    c.nmi_kick = offers(m.pin, pin::kNmiExiting | pin::kVirtualNmis) && offers(m.proc, proc::kNmiWindow);
    c.pin = choose(m.pin, c.nmi_kick ? pin::kNmiExiting | pin::kVirtualNmis : 0);
    c.preemption_timer = offers(m.pin, pin::kPreemptionTimer);
    c.preemption_shift = static_cast<u8>(m.misc & 0x1F);
    // NMI-window exiting is switched on only while an NMI waits for the guest to take it.
    c.proc = choose(m.proc, proc::kUseIoBitmaps | proc::kUseMsrBitmaps | proc::kSecondary) & ~(proc::kMtf | proc::kNmiWindow);
    c.proc2 = choose(m.proc2, proc2::kEpt | proc2::kUnrestricted | (proc2::kPassThrough & may_be_1(m.proc2)));
    u32 const pat_exit = c.pat ? exit_ctl::kSavePat | exit_ctl::kLoadPat : 0;
    c.exit = choose(m.exit, exit_ctl::kHost64 | exit_ctl::kSaveEfer | exit_ctl::kLoadEfer | pat_exit);
    // The guest starts in real mode: IA-32e mode stays off until it enables paging itself.
    c.entry = choose(m.entry, entry_ctl::kLoadEfer | (c.pat ? entry_ctl::kLoadPat : 0)) & ~entry_ctl::kIa32eGuest;
    c.cr0_fixed0 = m.cr0_fixed0 & ~(x86::kCr0Pe | x86::kCr0Pg);  // unrestricted guest relaxes exactly these
    c.cr0_fixed1 = m.cr0_fixed1;
    c.cr4_fixed0 = m.cr4_fixed0;
    c.cr4_fixed1 = m.cr4_fixed1;
    c.invept_single = m.ept_vpid_cap & kInveptSingle;
    c.feature_control_unlocked = !(m.feature_control & kFeatureControlLock);
    *out = c;
    return true;
}

}  // namespace tv::vmx
