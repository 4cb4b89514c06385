// Intel VT-x: CPU checks, VMXON, intercept bitmaps, the VMCS controls and host state, and
// vCPU creation.
#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/descriptors.hpp"
#include "core/arch/x86/vmx/vmx_caps.hpp"
#include "core/arch/x86/vmx/vmx_insn.hpp"
#include "core/arch/x86/vmx/vmx_msr_bitmap.hpp"
#include "core/arch/x86/vmx/vmx_vcpu.hpp"
#include "core/boot_info.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/memory.hpp"
#include "core/nested_paging.hpp"
#include "core/virt_backend.hpp"
#include "lib/new.hpp"

namespace tv::vmx {

namespace {

namespace f = field;

constexpr u32 kFsBaseMsr = 0xC0000100;
constexpr u32 kGsBaseMsr = 0xC0000101;
constexpr u32 kCpuidVmx = 1u << 5;
constexpr u32 kCpuidXsave = 1u << 26;
constexpr u32 kCpuid1gPages = 1u << 26;

// Reads only the MSRs that exist: the secondary and EPT MSRs only when the controls that
// announce them may be set, the TRUE_* ones only when IA32_VMX_BASIC says so.
VmxMsrs read_msrs() {
    VmxMsrs m{};
    m.cpuid_vmx = x86::cpuid(1).ecx & kCpuidVmx;
    m.cpuid_1g_pages = x86::cpuid(0x80000001).edx & kCpuid1gPages;
    if (!m.cpuid_vmx) return m;
    m.feature_control = x86::rdmsr(x86::msr::kFeatureControl);
    m.basic = x86::rdmsr(msr::kBasic);
    bool const true_ctls = m.basic & kBasicTrueCtls;
    m.pin = x86::rdmsr(true_ctls ? msr::kTruePinCtls : msr::kPinCtls);
    m.proc = x86::rdmsr(true_ctls ? msr::kTrueProcCtls : msr::kProcCtls);
    m.exit = x86::rdmsr(true_ctls ? msr::kTrueExitCtls : msr::kExitCtls);
    m.entry = x86::rdmsr(true_ctls ? msr::kTrueEntryCtls : msr::kEntryCtls);
    m.misc = x86::rdmsr(msr::kMisc);
    m.cr0_fixed0 = x86::rdmsr(msr::kCr0Fixed0);
    m.cr0_fixed1 = x86::rdmsr(msr::kCr0Fixed1);
    m.cr4_fixed0 = x86::rdmsr(msr::kCr4Fixed0);
    m.cr4_fixed1 = x86::rdmsr(msr::kCr4Fixed1);
    if (!((m.proc >> 32) & proc::kSecondary)) return m;
    m.proc2 = x86::rdmsr(msr::kProcCtls2);
    if ((m.proc2 >> 32) & proc2::kEpt) m.ept_vpid_cap = x86::rdmsr(msr::kEptVpidCap);
    return m;
}

// Everything VMX loads into the CPU at a VM exit: the monitor as it runs right now.
void write_host_state(u32 cpu) {
    x86::HostTables const t = x86::host_tables(cpu);
    vmwrite(f::kHostCr0, x86::read_cr0());
    vmwrite(f::kHostCr3, x86::read_cr3());
    vmwrite(f::kHostCr4, x86::read_cr4());
    vmwrite(f::kHostCsSel, x86::kCodeSel);
    vmwrite(f::kHostSsSel, x86::kDataSel);
    vmwrite(f::kHostDsSel, x86::kDataSel);
    vmwrite(f::kHostEsSel, x86::kDataSel);
    vmwrite(f::kHostFsSel, 0);
    vmwrite(f::kHostGsSel, 0);
    vmwrite(f::kHostTrSel, x86::kTssSel);
    vmwrite(f::kHostFsBase, x86::rdmsr(kFsBaseMsr));
    vmwrite(f::kHostGsBase, x86::rdmsr(kGsBaseMsr));
    vmwrite(f::kHostTrBase, t.tss_base);
    vmwrite(f::kHostGdtrBase, t.gdt_base);
    vmwrite(f::kHostIdtrBase, t.idt_base);
    vmwrite(f::kHostSysenterCs, 0);
    vmwrite(f::kHostSysenterEsp, 0);
    vmwrite(f::kHostSysenterEip, 0);
    vmwrite(f::kHostEfer, x86::rdmsr(x86::msr::kEfer));
    vmwrite(f::kHostPat, x86::rdmsr(msr::kPat));  // ignored unless the exit controls load it
}

void write_controls(VmxCaps const& c, Hpa io, Hpa msrs, u64 eptp) {
    vmwrite(f::kPinControls, c.pin);
    vmwrite(f::kProcControls, c.proc);
    vmwrite(f::kProcControls2, c.proc2);
    vmwrite(f::kExitControls, c.exit);
    vmwrite(f::kEntryControls, c.entry);
    vmwrite(f::kExceptionBitmap, 0);  // the guest handles its own exceptions
    vmwrite(f::kCr3TargetCount, 0);
    vmwrite(f::kExitMsrStoreCount, 0);
    vmwrite(f::kExitMsrLoadCount, 0);
    vmwrite(f::kEntryMsrLoadCount, 0);
    vmwrite(f::kEntryIntrInfo, 0);
    vmwrite(f::kIoBitmapA, io.raw);
    vmwrite(f::kIoBitmapB, io.raw + kPageSize);
    vmwrite(f::kMsrBitmap, msrs.raw);
    vmwrite(f::kEptp, eptp);
    if (c.proc2 & proc2::kXsaves) vmwrite(f::kXssExitBitmap, 0);  // XSAVES/XRSTORS never exit
}

class VmxBackend final : public VirtBackend {
  public:
    char const* name() const override { return "Intel VT-x (VMX + EPT, unrestricted guest)"; }

    bool check_cpu(char* why, size_t n) const override {
        VmxCaps c;
        return evaluate_caps(read_msrs(), &c, why, n);
    }

    Status enable_cpu() override;
    NestedFormat nested_format() const override { return NestedFormat::Ept; }
    bool kicks_by_nmi() const override { return caps_.nmi_kick; }
    // The MSR policy's default covers IA32_FEATURE_CONTROL and the VMX MSRs. PAT is the
    // guest's own only when the VMCS switches it; otherwise its writes are checked.
    void add_protected_msrs(InterceptSet& set) const override {
        if (!caps_.pat) (void)set.add_msr(msr::kPat);
    }
    Vcpu* create_vcpu(u32 id, GuestStart const& start, Hpa nested_root, InterceptSet const& set) override;

  private:
    VmxCaps caps_{};
};

Status VmxBackend::enable_cpu() {
    char why[160];
    if (!evaluate_caps(read_msrs(), &caps_, why, sizeof why)) return Status::Unsupported;
    // The Bochs BIOS (and most firmware) locks the MSR; writing a locked one raises #GP.
    if (caps_.feature_control_unlocked)
        x86::wrmsr(x86::msr::kFeatureControl, x86::rdmsr(x86::msr::kFeatureControl) | kFeatureControlLock |
                                                  kFeatureControlVmx);
    // VMXON demands the fixed CR0/CR4 bits (GRUB leaves CR0.NE clear). OSXSAVE lets the
    // monitor load the guest's XCR0 when the guest's XSETBV exits.
    x86::write_cr0((x86::read_cr0() | (caps_.cr0_fixed0)) & caps_.cr0_fixed1);
    u64 cr4 = x86::read_cr4() | caps_.cr4_fixed0;
    if (x86::cpuid(1).ecx & kCpuidXsave) cr4 |= cr::kCr4Osxsave;
    x86::write_cr4(cr4 & caps_.cr4_fixed1);
    // vmx_step=tf on the command line: single-step with RFLAGS.TF although the CPU offers the
    // monitor trap flag. Bochs 2.7's Ice Lake and Tiger Lake models offer MTF but never deliver
    // its exit (the stand-in page would stay mapped).
    char step[8];
    char const* forced = cmdline_value("vmx_step", step, sizeof step);
    if (forced && strcmp(forced, "tf") == 0) caps_.mtf = false;
    Hpa const region = alloc_pages(1);
    if (!region.raw) return Status::NoMemory;
    static_cast<VmxRegion*>(hpa_virt(region))->revision = caps_.revision;
    if (!vmxon(region)) return Status::Refused;
    log("vmx: enabled (VMCS revision %#x, controls pin %#x proc %#x/%#x exit %#x entry %#x, invept %s, "
        "pat %d, single step by %s, NMI kick %s, preemption timer %s at TSC/%u)",
        caps_.revision, caps_.pin, caps_.proc, caps_.proc2, caps_.exit, caps_.entry,
        caps_.invept_single ? "single" : "all", caps_.pat, caps_.mtf ? "MTF" : "TF", caps_.nmi_kick ? "on" : "off",
        caps_.preemption_timer ? "on" : "off (the clock runs only at exits)", 1u << caps_.preemption_shift);
    return Status::Ok;
}

Vcpu* VmxBackend::create_vcpu(u32 id, GuestStart const& start, Hpa nested_root, InterceptSet const& set) {
    Hpa const vmcs = alloc_pages(1), io = alloc_pages(2), msrs = alloc_pages(1), obj = alloc_pages(1);
    if (!vmcs.raw || !io.raw || !msrs.raw || !obj.raw) return nullptr;
    static_assert(sizeof(VmxVcpu) <= kPageSize);
    static_assert(sizeof(IoBitmaps) == sizeof(InterceptSet::io_ports));  // the same bit layout
    memcpy(hpa_virt(io), set.io_ports, sizeof set.io_ports);
    build_msr_bitmap(static_cast<MsrBitmap*>(hpa_virt(msrs)), set);
    u64 const eptp = machine().nested.eptp();
    if ((eptp & ~(kPageSize - 1)) != nested_root.raw) return nullptr;

    static_cast<VmxRegion*>(hpa_virt(vmcs))->revision = caps_.revision;
    if (!vmclear(vmcs) || !vmptrld(vmcs)) return nullptr;
    write_controls(caps_, io, msrs, eptp);
    write_host_state(id);
    auto* v = new (hpa_virt(obj)) VmxVcpu(id, caps_, eptp);
    v->set_io_bitmap(static_cast<u8*>(hpa_virt(io)));  // bitmaps A and B, contiguous: bit per port
    switch (start.kind) {
        case GuestStart::Kind::RealMode: v->init_real_mode(start.real); break;
        case GuestStart::Kind::LongMode: v->init_long_mode(start.cpu); break;
    }
    if (u32 const bad = take_vmwrite_error()) {
        log("vmx: VMWRITE of field %#x failed while setting up the VMCS", bad);
        return nullptr;
    }
    return v;
}

VmxBackend g_vmx;

}  // namespace

}  // namespace tv::vmx

namespace tv {
VirtBackend* vmx_backend() { return &vmx::g_vmx; }
}  // namespace tv
