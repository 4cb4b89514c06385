#include "core/arch/x86/cpu.hpp"
#include "core/handlers/cpu_handlers.hpp"
#include "core/log.hpp"

namespace tv {

namespace {

constexpr u64 kVmCrLockedDisabled = (1ull << 3) | (1ull << 4);  // LOCK | SVMDIS
constexpr u64 kFeatureControlLockedNoVmx = 1;                     // locked, VMX off

void set_edx_eax(Vcpu& v, u64 value) {
    v.set_reg(Reg::Rax, static_cast<u32>(value));
    v.set_reg(Reg::Rdx, static_cast<u32>(value >> 32));
}

bool is_vmx_msr(u32 msr) { return msr >= x86::msr::kVmxBasic && msr <= x86::msr::kVmxLast; }

void done(Vcpu& v, ExitRecord const& e) {
    if (!v.skip(e)) log("cpu: exit %s without instruction length", exit_reason_name(e.reason));
}

}  // namespace

void cpu_handlers_add_msrs(InterceptSet& set) {
    (void)set.add_msr(x86::msr::kFeatureControl);
    for (u32 m = x86::msr::kVmxBasic; m <= x86::msr::kVmxLast; ++m) (void)set.add_msr(m);
}

namespace {

// CPUID reports OSXSAVE (1:ECX[27]) and OSPKE (7.0:ECX[4]) from CR4, and the monitor runs
// the CPUID with its own CR4. The guest must see its own bits: a guest kernel that left XSAVE
// off, told OSXSAVE=1, has its programs run XGETBV into #UD.
void reflect_guest_cr4(Vcpu& v, u32 leaf, u32 subleaf, u32* ecx) {
    constexpr u64 kCr4Osxsave = 1ull << 18, kCr4Pke = 1ull << 22;
    constexpr u32 kOsxsave = 1u << 27, kOspke = 1u << 4;
    if (leaf == 1) *ecx = (v.cr4() & kCr4Osxsave) ? *ecx | kOsxsave : *ecx & ~kOsxsave;
    if (leaf == 7 && subleaf == 0) *ecx = (v.cr4() & kCr4Pke) ? *ecx | kOspke : *ecx & ~kOspke;
}

}  // namespace

void handle_cpuid(Vcpu& v, ExitRecord const& e) {
    u32 leaf = static_cast<u32>(v.reg(Reg::Rax));
    u32 const subleaf = static_cast<u32>(v.reg(Reg::Rcx));
    auto r = x86::cpuid(leaf, subleaf);
    filter_cpuid(leaf, &r.eax, &r.ebx, &r.ecx, &r.edx);
    reflect_guest_cr4(v, leaf, subleaf, &r.ecx);
    v.set_reg(Reg::Rax, r.eax);
    v.set_reg(Reg::Rbx, r.ebx);
    v.set_reg(Reg::Rcx, r.ecx);
    v.set_reg(Reg::Rdx, r.edx);
    done(v, e);
}

void handle_msr_read(Vcpu& v, ExitRecord const& e) {
    u32 msr = static_cast<u32>(v.reg(Reg::Rcx));
    u64 value = 0;
    if (msr == x86::msr::kEfer) {
        value = v.efer();
    } else if (msr == x86::msr::kVmCr) {
        value = kVmCrLockedDisabled;
    } else if (msr == x86::msr::kVmHsavePa) {
        value = 0;
    } else if (msr == x86::msr::kFeatureControl) {
        value = kFeatureControlLockedNoVmx;
    } else if (is_vmx_msr(msr) || !x86::rdmsr_safe(msr, &value)) {
        v.inject_exception(13, true, 0);  // what a CPU without the MSR does
        return;
    }
    set_edx_eax(v, value);
    done(v, e);
}

void handle_msr_write(Vcpu& v, ExitRecord const& e) {
    u32 msr = static_cast<u32>(v.reg(Reg::Rcx));
    u64 value = (v.reg(Reg::Rdx) << 32) | static_cast<u32>(v.reg(Reg::Rax));
    if (msr == x86::msr::kEfer) {
        if (value & x86::kEferSvme) {  // SVM is "not there": setting its enable bit faults
            v.inject_exception(13, true, 0);
            return;
        }
        v.set_efer(value);
    } else if (msr == x86::msr::kVmCr || msr == x86::msr::kFeatureControl || is_vmx_msr(msr)) {
        v.inject_exception(13, true, 0);  // locked or absent on the CPU the guest sees
        return;
    } else if (msr == x86::msr::kVmHsavePa) {
        // Harmless to accept; the monitor's own host save area is elsewhere and untouched.
    } else if (!x86::wrmsr_safe(msr, value)) {
        v.inject_exception(13, true, 0);
        return;
    }
    done(v, e);
}

void handle_virt_instruction(Vcpu& v, ExitRecord const&) {
    v.inject_exception(6, false, 0);  // #UD, as on a CPU without the extension
}

}  // namespace tv
