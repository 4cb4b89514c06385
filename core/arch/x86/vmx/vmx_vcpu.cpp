#include "core/arch/x86/vmx/vmx_vcpu.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/vmx/vmx_exit_decode.hpp"
#include "core/arch/x86/vmx/vmx_insn.hpp"
#include "core/arch/x86/vmx/vmx_step.hpp"
#include "core/device/guest_memory.hpp"
#include "core/handlers/phys_edge.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"

namespace tv::vmx {

namespace {

namespace f = field;

// Enters the guest (VMLAUNCH the first time, VMRESUME after) through vmx_run.S; 0 after a VM
// exit, 1 when the entry itself failed (VMfailValid/VMfailInvalid). Every register but RBP
// and RSP comes back holding guest or scratch values.
int enter_guest(GuestGprs* gprs, bool launched) {
    int failed;
    asm volatile("call tv_vmx_run"
                 : "=a"(failed), "+D"(gprs), "+S"(launched)
                 :
                 : "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory", "cc");
    return failed;
}

using namespace cr;
using x86::kCr0Pe;
using x86::kCr0Pg;
constexpr u16 kAttrLong = 1u << 9;  // the core's segment attributes: L
constexpr u64 kPowerOnPat = 0x0007040600070406ull;

struct SegFields {
    F16 sel;
    F32 limit;
    F32 ar;
    FNat base;
};
// In SegReg order.
constexpr SegFields kSegs[] = {
    {f::kGuestEsSel, f::kGuestEsLimit, f::kGuestEsAr, f::kGuestEsBase},
    {f::kGuestCsSel, f::kGuestCsLimit, f::kGuestCsAr, f::kGuestCsBase},
    {f::kGuestSsSel, f::kGuestSsLimit, f::kGuestSsAr, f::kGuestSsBase},
    {f::kGuestDsSel, f::kGuestDsLimit, f::kGuestDsAr, f::kGuestDsBase},
    {f::kGuestFsSel, f::kGuestFsLimit, f::kGuestFsAr, f::kGuestFsBase},
    {f::kGuestGsSel, f::kGuestGsLimit, f::kGuestGsAr, f::kGuestGsBase},
};
static_assert(sizeof kSegs / sizeof kSegs[0] == static_cast<u8>(SegReg::Gs) + 1);

void write_segment(SegFields const& s, u16 sel, u32 ar, u32 limit, u64 base) {
    vmwrite(s.sel, sel);
    vmwrite(s.ar, ar);
    vmwrite(s.limit, limit);
    vmwrite(s.base, base);
}

void real_segment(SegReg r, u16 sel, u16 attr) {
    write_segment(kSegs[static_cast<u8>(r)], sel, access_rights(attr), 0xFFFF, static_cast<u64>(sel) << 4);
}

constexpr u16 kRealData = 0x93;  // present, read/write, accessed
constexpr u16 kRealCode = 0x9B;  // present, execute/read, accessed

// Bits the guest may not own: forced by VMX (fixed0) or unsupported (not in fixed1). A guest
// write that would change one of them exits; reads see the read shadow instead.
u64 owned_mask(u64 fixed0, u64 fixed1) { return fixed0 | ~fixed1; }

u64 shadowed(u64 real, u64 shadow, u64 mask) { return (real & ~mask) | (shadow & mask); }

}  // namespace

void VmxVcpu::init_real_mode(RealModeStart const& s) {
    real_segment(SegReg::Cs, s.cs, kRealCode);
    real_segment(SegReg::Ss, s.ss, kRealData);
    real_segment(SegReg::Ds, s.ds, kRealData);
    real_segment(SegReg::Es, s.es, kRealData);
    real_segment(SegReg::Fs, 0, kRealData);
    real_segment(SegReg::Gs, 0, kRealData);
    write_segment(SegFields{f::kGuestLdtrSel, f::kGuestLdtrLimit, f::kGuestLdtrAr, f::kGuestLdtrBase}, 0, 0x82, 0xFFFF, 0);
    // Unrestricted guest still wants a busy TSS in TR, even in real mode.
    write_segment(SegFields{f::kGuestTrSel, f::kGuestTrLimit, f::kGuestTrAr, f::kGuestTrBase}, 0, 0x8B, 0xFFFF, 0);
    vmwrite(f::kGuestGdtrBase, 0);
    vmwrite(f::kGuestGdtrLimit, 0xFFFF);
    vmwrite(f::kGuestIdtrBase, 0);
    vmwrite(f::kGuestIdtrLimit, 0x3FF);  // the real-mode IVT

    vmwrite(f::kCr0Mask, owned_mask(caps_.cr0_fixed0, caps_.cr0_fixed1));
    vmwrite(f::kCr4Mask, owned_mask(caps_.cr4_fixed0, caps_.cr4_fixed1) | kCr4Vmxe);
    vmwrite(f::kCr0Shadow, kCr0Et);  // paging and protection off, caches on
    vmwrite(f::kGuestCr0, (kCr0Et | caps_.cr0_fixed0) & caps_.cr0_fixed1);
    vmwrite(f::kCr4Shadow, 0);
    vmwrite(f::kGuestCr4, caps_.cr4_fixed0);
    vmwrite(f::kGuestCr3, 0);
    vmwrite(f::kGuestEfer, 0);
    if (caps_.pat) vmwrite(f::kGuestPat, kPowerOnPat);
    vmwrite(f::kGuestDebugCtl, 0);
    vmwrite(f::kGuestDr7, 0x400);
    vmwrite(f::kGuestRflags, 0x2);
    vmwrite(f::kGuestRip, s.ip);
    vmwrite(f::kGuestRsp, s.sp);
    vmwrite(f::kGuestSysenterCs, 0);
    vmwrite(f::kGuestSysenterEsp, 0);
    vmwrite(f::kGuestSysenterEip, 0);
    vmwrite(f::kGuestActivity, 0);
    vmwrite(f::kGuestInterruptibility, 0);
    vmwrite(f::kGuestPendingDbg, 0);
    vmwrite(f::kVmcsLink, ~0ull);  // no shadow VMCS
    gprs_ = GuestGprs{};
    set_reg(Reg::Rsp, s.sp);
    set_reg(Reg::Rdx, s.edx);
}

namespace {

constexpr u32 kStarMsr = 0xC0000081, kLstarMsr = 0xC0000082, kCstarMsr = 0xC0000083, kSfmaskMsr = 0xC0000084;
constexpr u32 kKernelGsBaseMsr = 0xC0000102, kPatMsr = 0x277;

void captured_segment(SegFields const& f, Segment const& s) {
    write_segment(f, s.selector, loaded_access_rights(s.attr), s.limit, s.base);
}

}  // namespace

// The UEFI start: the CPU the loader captured resumes exactly there, as a guest. VM entry
// checks the guest-state area against IA-32e mode (SDM vol. 3, "Checks on Guest State Area"):
// PG/PE/PAE and LME/LMA with the "IA-32e mode guest" entry control, accessed code/data
// segments, a usable busy 64-bit TSS in TR (core/boot_uefi.cpp synthesizes the reset-time one
// when the firmware never loaded TR), canonical bases. VMX forces CR0.NE and CR4.VMXE as in
// real mode; the read shadows show the guest its own values.
void VmxVcpu::init_long_mode(LongModeStart const& s) {
    captured_segment(kSegs[static_cast<u8>(SegReg::Es)], s.es);
    captured_segment(kSegs[static_cast<u8>(SegReg::Cs)], s.cs);
    captured_segment(kSegs[static_cast<u8>(SegReg::Ss)], s.ss);
    captured_segment(kSegs[static_cast<u8>(SegReg::Ds)], s.ds);
    captured_segment(kSegs[static_cast<u8>(SegReg::Fs)], s.fs);
    captured_segment(kSegs[static_cast<u8>(SegReg::Gs)], s.gs);
    captured_segment(SegFields{f::kGuestLdtrSel, f::kGuestLdtrLimit, f::kGuestLdtrAr, f::kGuestLdtrBase}, s.ldtr);
    captured_segment(SegFields{f::kGuestTrSel, f::kGuestTrLimit, f::kGuestTrAr, f::kGuestTrBase}, s.tr);
    vmwrite(f::kGuestGdtrBase, s.gdtr.base);
    vmwrite(f::kGuestGdtrLimit, s.gdtr.limit);
    vmwrite(f::kGuestIdtrBase, s.idtr.base);
    vmwrite(f::kGuestIdtrLimit, s.idtr.limit);

    vmwrite(f::kCr0Mask, owned_mask(caps_.cr0_fixed0, caps_.cr0_fixed1));
    vmwrite(f::kCr4Mask, owned_mask(caps_.cr4_fixed0, caps_.cr4_fixed1) | kCr4Vmxe);
    vmwrite(f::kCr0Shadow, s.cr0);
    vmwrite(f::kGuestCr0, (s.cr0 | caps_.cr0_fixed0) & caps_.cr0_fixed1);
    vmwrite(f::kCr4Shadow, s.cr4);
    vmwrite(f::kGuestCr4, (s.cr4 | caps_.cr4_fixed0) & caps_.cr4_fixed1);
    vmwrite(f::kGuestCr3, s.cr3);
    vmwrite(f::kGuestEfer, s.efer);
    set_long_mode(s.efer & x86::kEferLma);
    vmwrite(f::kGuestDebugCtl, 0);
    vmwrite(f::kGuestDr7, 0x400);
    vmwrite(f::kGuestRflags, s.rflags);
    vmwrite(f::kGuestRip, s.rip);
    vmwrite(f::kGuestRsp, s.rsp);
    vmwrite(f::kGuestSysenterCs, static_cast<u32>(s.sysenter_cs));
    vmwrite(f::kGuestSysenterEsp, s.sysenter_esp);
    vmwrite(f::kGuestSysenterEip, s.sysenter_eip);
    vmwrite(f::kGuestActivity, 0);
    vmwrite(f::kGuestInterruptibility, 0);
    vmwrite(f::kGuestPendingDbg, 0);
    vmwrite(f::kVmcsLink, ~0ull);
    // VMX switches neither the SYSCALL MSRs nor KERNEL_GS_BASE: the guest owns the CPU's own
    // (the monitor never uses SYSCALL or SWAPGS, and leaves them unintercepted), so they are
    // loaded on the CPU that runs this vCPU. PAT likewise when the VMCS cannot switch it.
    x86::wrmsr(kStarMsr, s.star);
    x86::wrmsr(kLstarMsr, s.lstar);
    x86::wrmsr(kCstarMsr, s.cstar);
    x86::wrmsr(kSfmaskMsr, s.sfmask);
    x86::wrmsr(kKernelGsBaseMsr, s.kernel_gs_base);
    if (caps_.pat)
        vmwrite(f::kGuestPat, s.pat);
    else
        x86::wrmsr(kPatMsr, s.pat);
    gprs_ = GuestGprs{};
    set_reg(Reg::Rsp, s.rsp);
}

// The VMCS is this CPU's current one (each AP created its own). Nothing of the guest's
// previous life survives: a pending injection, a step in progress, long mode.
bool VmxVcpu::start_at_sipi(u8 vector) {
    set_single_step(false);
    vmwrite(f::kEntryIntrInfo, 0);
    nmi_pending_ = false;
    set_nmi_window(false);
    set_long_mode(false);
    init_real_mode(RealModeStart{static_cast<u16>(vector << 8), 0, 0, 0, 0, 0, x86::cpuid(1).eax});
    flush_nested_tlb();
    return true;
}

u64 VmxVcpu::rip() const { return vmread(f::kGuestRip); }
u64 VmxVcpu::rflags() const { return vmread(f::kGuestRflags); }
void VmxVcpu::set_rflags(u64 v) { vmwrite(f::kGuestRflags, v); }
u64 VmxVcpu::cr3() const { return vmread(f::kGuestCr3); }
u64 VmxVcpu::efer() const { return vmread(f::kGuestEfer); }

void VmxVcpu::set_rip(u64 v) {
    vmwrite(f::kGuestRip, v);
    // Moving past an instruction ends the STI/MOV SS shadow it sat in, as executing it would.
    u32 const s = vmread(f::kGuestInterruptibility);
    if (s & kBlockingStiMovSs) vmwrite(f::kGuestInterruptibility, s & ~kBlockingStiMovSs);
}

u64 VmxVcpu::cr0() const {
    return shadowed(vmread(f::kGuestCr0), vmread(f::kCr0Shadow), vmread(f::kCr0Mask));
}

u64 VmxVcpu::cr4() const {
    return shadowed(vmread(f::kGuestCr4), vmread(f::kCr4Shadow), vmread(f::kCr4Mask));
}

void VmxVcpu::set_efer(u64 v) {
    vmwrite(f::kGuestEfer, v);
    set_long_mode(v & x86::kEferLma);
}

Segment VmxVcpu::segment(SegReg r) const {
    SegFields const& s = kSegs[static_cast<u8>(r)];
    return Segment{vmread(s.sel), segment_attr(vmread(s.ar)), vmread(s.limit), vmread(s.base)};
}

u8 VmxVcpu::cpl() const { return static_cast<u8>((vmread(f::kGuestSsAr) >> 5) & 3); }  // SS.DPL

void VmxVcpu::inject_exception(u8 vector, bool has_error, u32 error) {
    u32 info = vector | (intr::kTypeHwException << intr::kTypeShift) | intr::kValid;
    // Real-mode exceptions push no error code, and VM entry insists on that.
    if (has_error && (vmread(f::kGuestCr0) & kCr0Pe)) {
        info |= intr::kErrorValid;
        vmwrite(f::kEntryErrorCode, error);
    }
    vmwrite(f::kEntryIntrInfo, info);
}

// The monitor trap flag exits after exactly one guest instruction; an interrupt delivered
// first ends the step before that instruction runs, which then simply faults and steps again.
// CPUs without it (Bochs 2.7) step with the guest's trap flag and a #DB intercept instead;
// the guest's own TF setting is put back afterwards.
void VmxVcpu::set_single_step(bool on) {
    if (on == stepping_) return;
    stepping_ = on;
    if (caps_.mtf) {
        proc_ = on ? proc_ | proc::kMtf : proc_ & ~proc::kMtf;
        vmwrite(f::kProcControls, proc_);
        return;
    }
    u64 const flags = rflags();
    if (on) guest_tf_ = flags & x86::kRflagsTf;
    bool const tf = on || guest_tf_;
    set_rflags(tf ? flags | x86::kRflagsTf : flags & ~x86::kRflagsTf);
    vmwrite(f::kExceptionBitmap, on ? 1u << 1 : 0u);
    // An interrupt delivered before the stepped instruction would push TF into a guest frame
    // the guest may resume on another CPU, whose #DB nobody intercepts: an external interrupt
    // exits instead while the step runs (pin control bit 0), and the core cancels the step.
    // Only while the guest could take one: else a pending interrupt cancels every retry
    // (vmx_step.hpp).
    step_interrupt_exits_ = on && step_needs_interrupt_exits(flags, vmread(f::kGuestInterruptibility));
    vmwrite(f::kPinControls, pin_controls());
}

u32 VmxVcpu::pin_controls() const {
    return caps_.pin | (step_interrupt_exits_ ? pin::kExternalInterruptExiting : 0) |
           (timer_armed_ ? pin::kPreemptionTimer : 0);
}

// The monitor clock's deadline (core/timer.hpp) as the preemption timer: it counts down in
// the guest, halted or not, and exits at zero (a value of 0 exits before the first guest
// instruction). Only the timer CPU has a deadline; elsewhere the timer stays off.
void VmxVcpu::arm_preemption_timer() {
    if (!caps_.preemption_timer) return;
    u64 const deadline = timer_deadline_tsc();
    bool const on = deadline != kNoDeadline;
    if (on != timer_armed_) {
        timer_armed_ = on;
        vmwrite(f::kPinControls, pin_controls());
    }
    if (!on) return;
    u64 const now = x86::rdtsc();
    u64 ticks = deadline > now ? (deadline - now) >> caps_.preemption_shift : 0;
    if (ticks > 0xFFFFFFFFull) ticks = 0xFFFFFFFFull;
    vmwrite(f::kPreemptionTimerValue, static_cast<u32>(ticks));
}

void VmxVcpu::flush_nested_tlb() {
    invept(caps_.invept_single ? InveptType::SingleContext : InveptType::AllContexts, eptp_);
}

ExitRecord VmxVcpu::run() {
    for (;;) {
        vmwrite(f::kGuestRsp, reg(Reg::Rsp));
        arm_preemption_timer();
        if (u32 const bad = take_vmwrite_error()) {
            log("vmx: VMWRITE of field %#x failed", bad);
            return entry_failed();
        }
        if (enter_guest(&gprs_, launched_) != 0) return entry_failed();
        launched_ = true;
        set_reg(Reg::Rsp, vmread(f::kGuestRsp));
        RawExit const raw{vmread(f::kExitReason),   vmread(f::kExitQualification), vmread(f::kExitInsnLen),
                          vmread(f::kExitIntrInfo), vmread(f::kExitIntrError),     vmread(f::kGuestPhysAddr)};
        reinject_interrupted_event(raw.insn_len);
        if (raw.reason == exit_reason::kNmiWindow) {  // the backend's own business: never the core's
            deliver_pending_nmi();
            continue;
        }
        after_nmi_exits(raw);
        ExitRecord const e = decode_exit(raw);
        if (e.reason == ExitReason::Invalid) return entry_failed();
        return e;
    }
}

namespace {
// An NMI that caused a VM exit leaves NMIs blocked on this CPU until the next IRET; the
// monitor takes no NMI itself, so one IRET to the next instruction lifts the block.
void unblock_host_nmis() {
    asm volatile(
        "mov %%ss, %%eax\n\t"
        "push %%rax\n\t"
        "push %%rsp\n\t"
        "addq $8, (%%rsp)\n\t"
        "pushfq\n\t"
        "mov %%cs, %%eax\n\t"
        "push %%rax\n\t"
        "lea 1f(%%rip), %%rax\n\t"
        "push %%rax\n\t"
        "iretq\n"
        "1:"
        ::: "rax", "memory", "cc");
}
}  // namespace

// NMI exiting (caps_.nmi_kick): a physical NMI exits, consumed (the core decides whether it was
// a kick or the guest's). An IRET that faulted into an EPT violation had already lifted the
// guest's virtual NMI blocking; the monitor re-executes it, so the blocking is put back.
void VmxVcpu::after_nmi_exits(RawExit const& raw) {
    if (!caps_.nmi_kick || (raw.reason & exit_reason::kEntryFailed)) return;
    u32 const basic = raw.reason & 0xFFFF;
    if (basic == exit_reason::kExceptionNmi && ((raw.intr_info >> intr::kTypeShift) & 7) == intr::kTypeNmi)
        unblock_host_nmis();
    bool const during_delivery = vmread(f::kIdtVectInfo) & intr::kValid;
    if (basic == exit_reason::kEptViolation && (raw.qualification & kNmiUnblockedByIret) && !during_delivery)
        vmwrite(f::kGuestInterruptibility, vmread(f::kGuestInterruptibility) | kBlockingNmi);
}

// A guest NMI (not the monitor's kick). Without NMI exiting it never exits and reaches the
// guest by itself.
void VmxVcpu::inject_nmi() {
    if (!caps_.nmi_kick) return;
    nmi_pending_ = true;
    deliver_pending_nmi();
}

void VmxVcpu::deliver_pending_nmi() {
    if (nmi_pending_ && nmi_injectable(vmread(f::kGuestInterruptibility), vmread(f::kEntryIntrInfo))) {
        vmwrite(f::kEntryIntrInfo, 2 | (intr::kTypeNmi << intr::kTypeShift) | intr::kValid);
        nmi_pending_ = false;
    }
    set_nmi_window(nmi_pending_);
}

void VmxVcpu::set_nmi_window(bool on) {
    u32 const want = on ? proc_ | proc::kNmiWindow : proc_ & ~proc::kNmiWindow;
    if (want == proc_) return;
    proc_ = want;
    vmwrite(f::kProcControls, proc_);
}

ExitRecord VmxVcpu::entry_failed() const {
    ExitRecord e{};
    e.reason = ExitReason::Invalid;
    e.vendor_code = vmread(f::kExitReason);
    e.vendor_info = vmread(f::kInsnError);
    log("vmx: VM entry failed: exit reason %#llx, VM-instruction error %llu, qualification %#llx",
        static_cast<unsigned long long>(e.vendor_code), static_cast<unsigned long long>(e.vendor_info),
        static_cast<unsigned long long>(vmread(f::kExitQualification)));
    log("vmx: guest cr0 %#llx cr4 %#llx efer %#llx entry %#x cs %#x/%#x rip %#llx rflags %#llx intr %#x",
        static_cast<unsigned long long>(vmread(f::kGuestCr0)), static_cast<unsigned long long>(vmread(f::kGuestCr4)),
        static_cast<unsigned long long>(vmread(f::kGuestEfer)), vmread(f::kEntryControls), vmread(f::kGuestCsSel),
        vmread(f::kGuestCsAr), static_cast<unsigned long long>(vmread(f::kGuestRip)),
        static_cast<unsigned long long>(vmread(f::kGuestRflags)), vmread(f::kEntryIntrInfo));
    return e;
}

// An exit can interrupt the delivery of an event (an EPT violation while pushing an interrupt
// frame onto a page the monitor hides). The IDT-vectoring information holds it; it must be
// delivered again, exactly once. Software events need their instruction length back.
void VmxVcpu::reinject_interrupted_event(u32 insn_len) {
    u32 const idt = vmread(f::kIdtVectInfo);
    if (!(idt & intr::kValid)) return;
    vmwrite(f::kEntryIntrInfo, idt & (intr::kValid | intr::kErrorValid | 0x7FF));
    if (idt & intr::kErrorValid) vmwrite(f::kEntryErrorCode, vmread(f::kIdtVectError));
    u32 const type = (idt >> intr::kTypeShift) & 7;
    // The interrupted NMI's delivery had set the guest's virtual NMI blocking, and VM entry
    // refuses to inject an NMI while it is set.
    if (type == intr::kTypeNmi)
        vmwrite(f::kGuestInterruptibility, vmread(f::kGuestInterruptibility) & ~kBlockingNmi);
    if (type == intr::kTypeSwInterrupt || type == intr::kTypePrivSwException || type == intr::kTypeSwException)
        vmwrite(f::kEntryInsnLen, insn_len);
}

bool VmxVcpu::emulate_cr_access(ExitRecord const& e) {
    CrAccess const a = decode_cr_access(e.vendor_info);
    if (a.cr != 0 && a.cr != 3 && a.cr != 4) return false;
    bool ok = true;
    switch (a.type) {
        case CrAccessType::MovTo: {
            bool const bits64 = (efer() & x86::kEferLma) && (segment(SegReg::Cs).attr & kAttrLong);
            u64 const v = reg(a.gpr);
            ok = write_cr(a.cr, bits64 ? v : static_cast<u32>(v));
            break;
        }
        case CrAccessType::MovFrom:
            set_reg(a.gpr, a.cr == 0 ? cr0() : a.cr == 3 ? cr3() : cr4());
            break;
        case CrAccessType::Clts:
            ok = write_cr0(cr0() & ~kCr0Ts);
            break;
        case CrAccessType::Lmsw: {  // loads MP, EM and TS; can set PE but never clear it
            u64 const old = cr0();
            ok = write_cr0((old & ~0xEull) | (a.lmsw_source & 0xFu) | (old & kCr0Pe));
            break;
        }
    }
    if (!ok) {
        inject_exception(13, true, 0);
        return true;
    }
    if (!skip(e)) log("vmx: CR access without instruction length");
    return true;
}

bool VmxVcpu::write_cr(u8 cr, u64 value) {
    if (cr == 0) return write_cr0(value);
    if (cr == 4) return write_cr4(value);
    // Only when the CPU insists on CR3 exiting. Address bits the CPU lacks would fail the
    // next VM entry; MOV to CR3 faults on them instead (bit 63 with PCIDE: "keep the TLB").
    if (vmread(f::kCr4Shadow) & kCr4Pcide) value &= ~(1ull << 63);
    if ((vmread(f::kGuestEfer) & x86::kEferLma) && (value >> cpu_phys_bits())) return false;
    vmwrite(f::kGuestCr3, value);
    load_pdptes();
    return true;
}

bool VmxVcpu::write_cr0(u64 value) {
    if ((value >> 32) || (value & ~caps_.cr0_fixed1)) return false;
    if (((value & kCr0Pg) && !(value & kCr0Pe)) || ((value & kCr0Nw) && !(value & kCr0Cd))) return false;
    u64 const old = vmread(f::kGuestCr0);
    u64 const efer = vmread(f::kGuestEfer);
    // The CPU did not execute the write, so its side effect on long mode is ours to perform.
    if ((value & kCr0Pg) && !(old & kCr0Pg) && (efer & x86::kEferLme)) {
        if (!(vmread(f::kGuestCr4) & kCr4Pae)) return false;
        set_long_mode(true);
    } else if (!(value & kCr0Pg) && (old & kCr0Pg) && (efer & x86::kEferLma)) {
        if (segment(SegReg::Cs).attr & kAttrLong) return false;  // SDM: #GP in 64-bit mode
        set_long_mode(false);
    }
    vmwrite(f::kGuestCr0, (value | caps_.cr0_fixed0) & caps_.cr0_fixed1);
    vmwrite(f::kCr0Shadow, value);
    load_pdptes();
    return true;
}

bool VmxVcpu::write_cr4(u64 value) {
    if (value & kCr4Vmxe) return false;             // VMX is not there for the guest
    if (value & ~caps_.cr4_fixed1) return false;    // nor is any bit this CPU lacks
    if ((efer() & x86::kEferLma) && !(value & kCr4Pae)) return false;
    vmwrite(f::kGuestCr4, value | caps_.cr4_fixed0);
    vmwrite(f::kCr4Shadow, value);
    load_pdptes();
    return true;
}

// EFER.LMA and the IA-32e-mode entry control must agree at every VM entry.
void VmxVcpu::set_long_mode(bool active) {
    u64 const efer = vmread(f::kGuestEfer);
    vmwrite(f::kGuestEfer, active ? efer | x86::kEferLma : efer & ~x86::kEferLma);
    u32 const entry = vmread(f::kEntryControls);
    vmwrite(f::kEntryControls, active ? entry | entry_ctl::kIa32eGuest : entry & ~entry_ctl::kIa32eGuest);
}

// PAE paging outside long mode takes its four PDPTEs from the VMCS at VM entry; an emulated
// control-register write must load them as the instruction would have. What is not guest RAM
// by the one guest-memory rule (the monitor's region, device memory: a read through the
// direct map could have a register's side effect) reads as zeros.
void VmxVcpu::load_pdptes() {
    if (!(vmread(f::kGuestCr0) & kCr0Pg) || !(vmread(f::kGuestCr4) & kCr4Pae) ||
        (vmread(f::kGuestEfer) & x86::kEferLma))
        return;
    u64 const table = vmread(f::kGuestCr3) & 0xFFFFFFE0ull;
    F64 const fields[] = {f::kGuestPdpte0, f::kGuestPdpte1, f::kGuestPdpte2, f::kGuestPdpte3};
    for (u32 i = 0; i < 4; ++i) {
        u64 pdpte = 0;
        if (!guest_memory().read(Gpa{table + 8 * i}, &pdpte, sizeof pdpte)) pdpte = 0;
        vmwrite(fields[i], pdpte);
    }
}

}  // namespace tv::vmx
