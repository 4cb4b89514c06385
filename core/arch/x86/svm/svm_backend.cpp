// AMD-V: CPU checks, enabling SVM, intercept bitmaps and vCPU creation.
#include <stdio.h>
#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/svm/svm_msrpm.hpp"
#include "core/arch/x86/svm/svm_vcpu.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/nested_paging.hpp"
#include "core/virt_backend.hpp"
#include "lib/new.hpp"

namespace tv::svm {

namespace {

constexpr u64 kVmCrSvmDis = 1ull << 4;
constexpr u64 kVmCrRInit = 1ull << 1;

struct Features {
    bool svm, npt, nrips;
    u32 asids;
};

Features probe() {
    Features f{};
    if (x86::cpuid(0x80000000).eax < 0x8000000A) return f;
    f.svm = x86::cpuid(0x80000001).ecx & (1u << 2);
    if (!f.svm) return f;
    auto r = x86::cpuid(0x8000000A);
    f.npt = r.edx & (1u << 0);
    f.nrips = r.edx & (1u << 3);
    f.asids = r.ebx;
    return f;
}

// IOPM: one bit per port, 12 KiB so that a multi-byte access at 0xFFFF stays inside.
void build_iopm(u8* iopm, InterceptSet const& set) {
    memset(iopm, 0, 3 * kPageSize);
    for (u32 p = 0; p < 65536; ++p)
        if (set.has_port(static_cast<u16>(p))) iopm[p / 8] = static_cast<u8>(iopm[p / 8] | (1u << (p % 8)));
}

class SvmBackend final : public VirtBackend {
  public:
    char const* name() const override { return "AMD-V (SVM + nested paging)"; }

    bool check_cpu(char* why, size_t n) const override {
        Features f = probe();
        if (!f.svm) {
            snprintf(why, n, "this CPU does not offer AMD-V (SVM)");
            return false;
        }
        if (x86::rdmsr(x86::msr::kVmCr) & kVmCrSvmDis) {
            snprintf(why, n, "AMD-V (SVM) is disabled by the firmware (VM_CR.SVMDIS)");
            return false;
        }
        if (!f.npt) {
            snprintf(why, n, "this CPU has AMD-V but no nested paging (NPT), which thinvisor needs to protect its memory");
            return false;
        }
        if (f.asids < 2) {
            snprintf(why, n, "this CPU reports no guest ASIDs");
            return false;
        }
        return true;
    }

    Status enable_cpu() override {
        features_ = probe();
        Hpa hsave = alloc_pages(1);
        if (hsave.raw == 0) return Status::NoMemory;
        x86::wrmsr(x86::msr::kEfer, x86::rdmsr(x86::msr::kEfer) | x86::kEferSvme);
        x86::wrmsr(x86::msr::kVmHsavePa, hsave.raw);
        // An intercepted INIT stays pending until GIF is set again (AMD APM 15.13.3): with
        // R_INIT the monitor then takes it as #SX (vector 30, ignored by tv_exception_entry)
        // instead of a reset. QEMU TCG knows no R_INIT (and performs a pending INIT whatever
        // GIF says): there only the ICR hook and the fixed APIC base keep INITs away.
        u64 vm_cr = 0;
        bool const r_init = x86::rdmsr_safe(x86::msr::kVmCr, &vm_cr) && x86::wrmsr_safe(x86::msr::kVmCr, vm_cr | kVmCrRInit);
        log("svm: enabled (nrips=%d, asids=%u, VM_CR.R_INIT %s)", features_.nrips, features_.asids,
            r_init ? "set" : "not writable");
        return Status::Ok;
    }

    NestedFormat nested_format() const override { return NestedFormat::Npt; }
    bool kicks_by_nmi() const override { return true; }
    void host_nmis(bool open) const override {
        if (open)
            asm volatile("stgi" ::: "memory");
        else
            asm volatile("clgi" ::: "memory");
    }

    // EFER, VM_CR, VM_HSAVE_PA and the VMX MSRs exit by the MSR policy's default; PAT is
    // the guest's own G_PAT under nested paging.
    void add_protected_msrs(InterceptSet&) const override {}

    Vcpu* create_vcpu(u32 id, GuestStart const& start, Hpa nested_root, InterceptSet const& set) override;

  private:
    Features features_{};
};

Vcpu* SvmBackend::create_vcpu(u32 id, GuestStart const& start, Hpa nested_root, InterceptSet const& set) {
    Hpa vmcb_pa = alloc_pages(1), host_pa = alloc_pages(1);
    Hpa iopm_pa = alloc_pages(3), msrpm_pa = alloc_pages(2), obj_pa = alloc_pages(1);
    if (!vmcb_pa.raw || !host_pa.raw || !iopm_pa.raw || !msrpm_pa.raw || !obj_pa.raw) return nullptr;
    static_assert(sizeof(SvmVcpu) <= kPageSize);
    build_iopm(static_cast<u8*>(hpa_virt(iopm_pa)), set);
    build_msrpm(static_cast<u8*>(hpa_virt(msrpm_pa)), set);

    auto* vmcb = static_cast<Vmcb*>(hpa_virt(vmcb_pa));
    VmcbControl& c = vmcb->control;
    c.intercept_misc1 = intercept::kBaseMisc1;
    c.intercept_misc2 = intercept::kBaseMisc2;
    c.intercept_exceptions = intercept::kBaseExceptions;
    c.iopm_base_pa = iopm_pa.raw;
    c.msrpm_base_pa = msrpm_pa.raw;
    c.guest_asid = 1;
    c.tlb_control = 1;
    c.np_control = 1;
    c.n_cr3 = nested_root.raw;

    // Host FS/GS/TR/LDTR and SYSCALL MSRs, reloaded after each exit (see svm_run.S).
    asm volatile("vmsave" ::"a"(host_pa.raw) : "memory");

    auto* v = new (hpa_virt(obj_pa)) SvmVcpu(id, vmcb, vmcb_pa, host_pa, features_.nrips);
    // Where an emulator's monitor (QEMU's `xp`) finds this vCPU's interrupt state when a guest
    // hangs: V_IRQ, EVENTINJ and the intercepts in the VMCB, the taken vectors in the object
    // (tests/suites/_netlib.py dumps both when a guest command times out).
    log("svm: vcpu %u: VMCB at %#llx, its state at %#llx", id, static_cast<unsigned long long>(vmcb_pa.raw),
        static_cast<unsigned long long>(obj_pa.raw));
    v->set_io_bitmap(static_cast<u8*>(hpa_virt(iopm_pa)));  // the IOPM's first 8 KiB: bit per port
    switch (start.kind) {
        case GuestStart::Kind::RealMode: v->init_real_mode(start.real); break;
        case GuestStart::Kind::LongMode: v->init_long_mode(start.cpu); break;
    }
    return v;
}

SvmBackend g_svm;

}  // namespace

}  // namespace tv::svm

namespace tv {
VirtBackend* svm_backend() { return &svm::g_svm; }
}  // namespace tv
