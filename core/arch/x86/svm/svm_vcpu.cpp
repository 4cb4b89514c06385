#include "core/arch/x86/svm/svm_vcpu.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/svm/svm_exit_decode.hpp"
#include "core/arch/x86/svm/svm_intr_take.hpp"
#include "core/boot_info.hpp"
#include "core/exit_stats.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "core/timer.hpp"

extern "C" void tv_svm_run(tv::u64 vmcb_pa, tv::GuestGprs* gprs, tv::u64 host_vmcb_pa);

namespace tv::svm {

namespace {
VmcbSegment real_segment(u16 sel, u16 attrib) {
    return VmcbSegment{sel, attrib, 0xFFFF, static_cast<u64>(sel) << 4};
}
constexpr u16 kRealData = 0x93;  // present, read/write, accessed
constexpr u16 kRealCode = 0x9B;  // present, execute/read, accessed
}  // namespace

void SvmVcpu::init_real_mode(RealModeStart const& s) {
    VmcbSave& g = vmcb_->save;
    g.cs = real_segment(s.cs, kRealCode);
    g.ss = real_segment(s.ss, kRealData);
    g.ds = real_segment(s.ds, kRealData);
    g.es = real_segment(s.es, kRealData);
    g.fs = real_segment(0, kRealData);
    g.gs = real_segment(0, kRealData);
    g.gdtr = VmcbSegment{0, 0, 0xFFFF, 0};
    g.idtr = VmcbSegment{0, 0, 0x3FF, 0};  // real-mode IVT; a larger limit breaks injection
    g.ldtr = VmcbSegment{0, 0x82, 0xFFFF, 0};
    g.tr = VmcbSegment{0, 0x8B, 0xFFFF, 0};
    g.cr0 = 0x10;  // ET; paging and protection off, caches on
    g.cr3 = 0;
    g.cr4 = 0;
    g.efer = x86::kEferSvme;  // VMRUN demands it; the guest is shown 0
    g.dr6 = 0xFFFF0FF0;
    g.dr7 = 0x400;
    g.rflags = 0x2;
    g.rip = s.ip;
    g.rsp = s.sp;
    g.g_pat = 0x0007040600070406ull;  // power-on PAT
    g.cpl = 0;
    gprs_ = GuestGprs{};
    set_reg(Reg::Rdx, s.edx);
}

namespace {
VmcbSegment vmcb_segment(Segment const& s) { return VmcbSegment{s.selector, s.attr, s.limit, s.base}; }
VmcbSegment vmcb_table(TableRegister const& t) { return VmcbSegment{0, 0, t.limit, t.base}; }
constexpr u16 kAttrDplShift = 5;
}  // namespace

// The CPU as the UEFI loader captured it: the VMCB save area holds the whole state VMRUN
// loads (segments with their hidden parts, CRs, EFER, the SYSCALL/SYSENTER MSRs through
// VMLOAD), so the firmware resumes exactly where it was.
void SvmVcpu::init_long_mode(LongModeStart const& s) {
    VmcbSave& g = vmcb_->save;
    g.es = vmcb_segment(s.es);
    g.cs = vmcb_segment(s.cs);
    g.ss = vmcb_segment(s.ss);
    g.ds = vmcb_segment(s.ds);
    g.fs = vmcb_segment(s.fs);
    g.gs = vmcb_segment(s.gs);
    g.ldtr = vmcb_segment(s.ldtr);
    g.tr = vmcb_segment(s.tr);
    g.gdtr = vmcb_table(s.gdtr);
    g.idtr = vmcb_table(s.idtr);
    g.cr0 = s.cr0;
    g.cr3 = s.cr3;
    g.cr4 = s.cr4;
    g.efer = s.efer | x86::kEferSvme;  // VMRUN demands it; the guest is shown its own value
    g.dr6 = 0xFFFF0FF0;
    g.dr7 = 0x400;
    g.rflags = s.rflags;
    g.rip = s.rip;
    g.rsp = s.rsp;
    g.g_pat = s.pat;
    g.kernel_gs_base = s.kernel_gs_base;
    g.star = s.star;
    g.lstar = s.lstar;
    g.cstar = s.cstar;
    g.sfmask = s.sfmask;
    g.sysenter_cs = s.sysenter_cs;
    g.sysenter_esp = s.sysenter_esp;
    g.sysenter_eip = s.sysenter_eip;
    g.cpl = static_cast<u8>((s.ss.attr >> kAttrDplShift) & 3);  // AMD: CPL is SS.DPL
    guest_efer_svme_ = false;
    gprs_ = GuestGprs{};
    set_reg(Reg::Rsp, s.rsp);
}

// The VMCB keeps nothing of the guest's previous life: pending events, single-stepping and
// the long-mode state go; the nested TLB is flushed at the next entry.
bool SvmVcpu::start_at_sipi(u8 vector) {
    VmcbControl& c = vmcb_->control;
    c.event_inj = 0;
    c.interrupt_shadow = 0;
    c.intercept_exceptions &= ~(1u << 1);
    c.tlb_control = 1;
    stepping_ = false;
    guest_tf_ = false;
    nmi_.reset();
    taken_ = TakenVectors{};  // INIT clears the local APIC, and with it what was taken
    halted_ = false;
    guest_efer_svme_ = false;
    VmcbSave& g = vmcb_->save;
    g.kernel_gs_base = g.star = g.lstar = g.cstar = g.sfmask = 0;
    g.sysenter_cs = g.sysenter_esp = g.sysenter_eip = 0;
    g.cr2 = 0;
    u16 const seg = static_cast<u16>(vector << 8);
    init_real_mode(RealModeStart{seg, 0, 0, 0, 0, 0, x86::cpuid(1).eax});
    return true;
}

u64 SvmVcpu::efer() const {
    u64 v = vmcb_->save.efer & ~x86::kEferSvme;
    return guest_efer_svme_ ? v | x86::kEferSvme : v;
}

void SvmVcpu::set_efer(u64 v) {
    guest_efer_svme_ = false;  // the guest may not enable SVM: the bit stays hidden
    vmcb_->save.efer = v | x86::kEferSvme;
}

Segment SvmVcpu::segment(SegReg r) const {
    VmcbSegment const* s = nullptr;
    switch (r) {
        case SegReg::Es: s = &vmcb_->save.es; break;
        case SegReg::Cs: s = &vmcb_->save.cs; break;
        case SegReg::Ss: s = &vmcb_->save.ss; break;
        case SegReg::Ds: s = &vmcb_->save.ds; break;
        case SegReg::Fs: s = &vmcb_->save.fs; break;
        case SegReg::Gs: s = &vmcb_->save.gs; break;
    }
    return Segment{s->selector, s->attrib, s->limit, s->base};
}

void SvmVcpu::inject_exception(u8 vector, bool has_error, u32 error) {
    u64 ev = vector | (3ull << 8) | (1ull << 31);
    if (has_error) ev |= (1ull << 11) | (static_cast<u64>(error) << 32);
    vmcb_->control.event_inj = ev;
}

void SvmVcpu::set_single_step(bool on) {
    if (on && !stepping_) {
        guest_tf_ = vmcb_->save.rflags & x86::kRflagsTf;
        vmcb_->save.rflags |= x86::kRflagsTf;
        vmcb_->control.intercept_exceptions |= 1u << 1;
        vmcb_->control.interrupt_shadow |= 1;  // no interrupt before the stepped instruction
        // QEMU does not hold interrupts for the shadow: one delivered now would push TF into
        // the guest's frame, and a guest that resumes that frame on another CPU takes a #DB
        // nobody intercepts there. So a physical interrupt ends the step with an exit instead
        // (V_INTR_MASKING: host IF, set at VMRUN, decides; the core cancels the step), while
        // the guest's IF is set: with it clear nothing can be delivered, and the exits would
        // cancel every retry (step_needs_interrupt_exits). Both are set per entry from
        // stepping_ and RFLAGS (prepare_interrupt_exits).
    } else if (!on && stepping_) {
        if (!guest_tf_) vmcb_->save.rflags &= ~x86::kRflagsTf;
        vmcb_->control.intercept_exceptions &= ~(1u << 1);
        vmcb_->save.dr6 &= ~(1ull << 14);  // BS: the guest did not ask for this step
    }
    stepping_ = on;
}

// An exit can interrupt the delivery of an event (e.g. a #NPF while pushing an interrupt
// frame). EXITINTINFO holds it; it must be delivered again, exactly once. An external
// interrupt goes back to the taken queue (interrupted_interrupt_vector says why).
void SvmVcpu::reinject_interrupted_event() {
    u64 const info = vmcb_->control.exit_int_info;
    if (!(info & event::kValid)) return;
    u32 const vector = interrupted_interrupt_vector(info);
    if (vector != kNoVector)
        taken_.add(vector);
    else if (!(vmcb_->control.event_inj & event::kValid))
        vmcb_->control.event_inj = info;
}

// NMI blocking (svm_nmi.hpp) before each entry: the NMI into a free EVENTINJ, the IRET
// intercept while one is in service, an interrupt exit while one waits past that IRET (the
// hidden-memory step wants interrupt exits too).
void SvmVcpu::prepare_nmi() {
    constexpr u64 kEventValid = 1ull << 31, kNmiEvent = 2 | (2ull << 8) | kEventValid;
    VmcbControl& c = vmcb_->control;
    if (nmi_.before_entry(vmcb_->save.rip, !(c.event_inj & kEventValid))) c.event_inj = kNmiEvent;
    c.intercept_misc1 = nmi_.wants_iret_intercept() ? c.intercept_misc1 | intercept::kIret : c.intercept_misc1 & ~intercept::kIret;
}

namespace {
u32 with(u32 word, u32 bits, bool on) { return on ? word | bits : word & ~bits; }
}  // namespace

// The physical-interrupt exits of the next entry. A single step and a waiting NMI want one at
// the next interrupt (see set_single_step, prepare_nmi). The monitor clock (core/timer.hpp)
// has no timer of its own under SVM: while it wants control it takes every physical interrupt
// as an exit (the guest's own timer ticks and device interrupts, which a guest busy with
// interrupts on keeps taking) and every HLT (timer_halt_wait keeps time while the guest
// idles). The interrupt itself is taken in the monitor and handed to the guest as a virtual
// interrupt (V_IRQ), which the CPU delivers when the guest can take it. The entry that resumes
// a HLT masks with the host's IF (V_INTR_MASKING), so a pending interrupt exits at once even in
// the shadow of the guest's STI; otherwise the guest's IF decides as before.
namespace {

// The interrupt-taking clock is on by default; `svm_clock=off` on the monitor's command line
// (set by whoever controls its boot loader, never by the guest) turns it off, and the jobs run
// at the guest's exits only, as before the clock (docs/architecture.md, "The monitor clock").
bool svm_clock_on() {
    static constinit int on = -1;  // read once; the command line never changes
    if (on < 0) {
        char buf[8];
        char const* v = cmdline_value("svm_clock", buf, sizeof buf);
        on = svm_clock_enabled(v) ? 1 : 0;
    }
    return on == 1;
}

}  // namespace

void SvmVcpu::prepare_interrupt_exits() {
    VmcbControl& c = vmcb_->control;
    bool const clock = svm_clock_on() && timer_deadline_tsc() != kNoDeadline;
    bool const step_exits = stepping_ && step_needs_interrupt_exits(vmcb_->save.rflags);
    // Not during a single step: an interrupt delivered then would push TF into the guest's
    // frame (set_single_step); the queue waits for the step to end.
    VirtualInterruptPlan p;
    if (!stepping_) {
        bool const open = (vmcb_->save.rflags & x86::kRflagsIf) && !(c.interrupt_shadow & 1) && !(c.event_inj & event::kValid);
        p = plan_virtual_interrupts(taken_, open);
    }
    bool const intr = step_exits || nmi_.wants_interrupt_exit() || clock || p.intr_exit;
    bool const masking = step_exits || (clock && halted_);
    c.intercept_misc1 = with(c.intercept_misc1, intercept::kIntr, intr);
    c.intercept_misc1 = with(c.intercept_misc1, intercept::kHlt, clock);
    u64 v = c.vintr & ~(vintr::kVIntrMasking | vintr::kVIrq | vintr::kVIgnTpr | vintr::kVIntrPrio | vintr::kVIntrVector);
    if (masking) v |= vintr::kVIntrMasking;
    entry_virq_ = p.virq;
    entry_intr_ = intr;
    if (p.virq != kNoVector) v |= vintr::kVIrq | vintr::kVIgnTpr | vintr::kVIntrPrio | u64{p.virq} << vintr::kVectorShift;
    c.intercept_misc1 = with(c.intercept_misc1, intercept::kVintr, p.window_exit);
    // After prepare_nmi: the NMI's own IRET intercept stays whatever this plan says.
    if (p.iret_exit) c.intercept_misc1 |= intercept::kIret;
    c.vintr = v;
}

// After an exit: a virtual interrupt the guest has not taken yet goes back to the queue (a
// higher one may have come meanwhile; a VINTR exit, plan_virtual_interrupts' window exit,
// needs nothing more); the clock's interrupt exit takes the interrupt (not
// while a single step runs: the core cancels the step, and the interrupt exits again); a HLT
// exit is remembered. An interrupt, taken now or still queued, wakes a HLT the guest is at:
// as on hardware it returns past the HLT (and past any STI shadow, which the HLT used up).
// True when the exit needs nothing more (a HLT that such an interrupt ends at once).
bool SvmVcpu::after_interrupt_exits(u64 code) {
    VmcbControl& c = vmcb_->control;
    if (c.vintr & vintr::kVIrq) taken_.add(static_cast<u32>((c.vintr >> vintr::kVectorShift) & 0xFF));
    c.vintr &= ~vintr::kVIrq;
    // The exits the backend ends itself are counted too: the clock's cost is all of them.
    if (code == exit_code::kVintr) {  // the guest's window opened: the next entry injects
        stats_count_exit(ExitReason::InterruptWindow);
        return true;
    }
    bool const was_halted = halted_;
    bool const clock = !stepping_ && svm_clock_on() && timer_deadline_tsc() != kNoDeadline;
    halted_ = code == exit_code::kHlt;
    if (halted_) halted_rip_ = vmcb_->save.rip;
    if (code == exit_code::kIntr && take_on_interrupt_exit(stepping_, clock, entry_virq_))
        taken_.add(take_pending_interrupt());
    // Once per HLT the guest executes, not at each re-entry of the halt wait (APIC reads are costly).
    if (halted_ && !was_halted && clock && taken_.empty() && (vmcb_->save.rflags & x86::kRflagsIf))
        check_idle_in_service();
    bool const at_halt = halted_ || (was_halted && code == exit_code::kIntr && vmcb_->save.rip == halted_rip_);
    if (!at_halt || taken_.empty() || !(vmcb_->save.rflags & x86::kRflagsIf)) return false;
    vmcb_->save.rip = halted_rip_ + 1;
    c.interrupt_shadow = 0;
    bool const skip_core = halted_;
    if (skip_core) stats_count_exit(ExitReason::Hlt);
    halted_ = false;
    return skip_core;
}

// A guest idle at HLT with interrupts on, with nothing taken for it still queued, has been
// given every interrupt the monitor took. A vector the local APIC still holds in service then
// blocks its own priority class and all below it (a console that stops) unless the guest halted
// inside a handler on purpose. Logged once per vector seen, rate-limited: the diagnosis.
void SvmVcpu::check_idle_in_service() {
    u32 const v = apic_highest_in_service();
    if (v == idle_in_service_) return;
    idle_in_service_ = v;
    if (v >= 16 && log_limit_allow("svm-clock", "vector in service at an idle HLT"))
        log("svm clock: vector %#x in service at the guest's idle HLT (rip %#llx)", v,
            static_cast<unsigned long long>(vmcb_->save.rip));
}

// The clock's gaps, diagnosed: the first exit after the jobs were due for 2 s or more says
// where the guest comes back from and what waited for it, before anything is handed over:
// its RIP and RFLAGS (IF clear: the IF=0 gap; IF set with a vector stuck in service: a
// blocked class), the pending virtual interrupt, an event the exit cut short, the taken queue and the local
// APIC. Once per late deadline, rate-limited; a boot logs one for its firmware stretch.
void SvmVcpu::note_late_exit(u64 code) {
    constexpr u64 kLateExitUs = 2'000'000;
    u64 const late = timer_late_us();  // one TSC read on the timer CPU, 0 elsewhere
    if (late < kLateExitUs) return;
    u64 const due = timer_deadline_tsc();
    if (due == late_logged_due_) return;
    late_logged_due_ = due;
    if (!log_limit_allow("svm-clock", "first exit after a 2 s hold-off")) return;
    VmcbControl const& c = vmcb_->control;
    ApicSnapshot const a = apic_snapshot();
    auto ull = [](u64 v) { return static_cast<unsigned long long>(v); };
    log("svm clock: first exit %llu ms after a due job: exit %#llx at rip %#llx rflags %#llx shadow %u; "
        "V_IRQ %u vector %#x masking %u; EXITINTINFO %#llx; taken highest %#x; APIC ISR %#x IRR %#x TPR %#x",
        ull(late / 1000), ull(code), ull(vmcb_->save.rip), ull(vmcb_->save.rflags),
        static_cast<unsigned>(c.interrupt_shadow & 1), (c.vintr & vintr::kVIrq) ? 1u : 0u,
        static_cast<unsigned>((c.vintr & vintr::kVIntrVector) >> vintr::kVectorShift),
        (c.vintr & vintr::kVIntrMasking) ? 1u : 0u, ull(c.exit_int_info), taken_.empty() ? 0u : taken_.highest(), a.isr,
        a.irr, a.tpr);
}

// An interrupt the guest got that the monitor did not hand over (unbidden_interrupt): logged,
// rate-limited, with the guest's state, as the diagnosis of a guest that hangs in a nested
// handler. tests/suites check that no boot logs one.
void SvmVcpu::note_unbidden_interrupt() {
    u32 const v = unbidden_interrupt(vmcb_->control.exit_int_info, entry_intr_, entry_virq_);
    if (v == kNoVector || !log_limit_allow("svm-clock", "an interrupt delivered unbidden")) return;
    log("svm: the guest got vector %#x that the monitor did not hand over (exit %#llx at rip %#llx rflags %#llx)", v,
        static_cast<unsigned long long>(vmcb_->control.exit_code), static_cast<unsigned long long>(vmcb_->save.rip),
        static_cast<unsigned long long>(vmcb_->save.rflags));
}

ExitRecord SvmVcpu::run() {
    for (;;) {
        vmcb_->save.efer |= x86::kEferSvme;  // the guest can clear it through state we restore
        prepare_nmi();
        prepare_interrupt_exits();
        vmcb_->save.rax = reg(Reg::Rax);
        vmcb_->save.rsp = reg(Reg::Rsp);
        tv_svm_run(vmcb_pa_.raw, &gprs_, host_vmcb_pa_.raw);
        set_reg(Reg::Rax, vmcb_->save.rax);
        set_reg(Reg::Rsp, vmcb_->save.rsp);
        note_unbidden_interrupt();
        vmcb_->control.event_inj = 0;
        vmcb_->control.tlb_control = 0;
        reinject_interrupted_event();
        u64 const code = vmcb_->control.exit_code;
        if (svm_clock_on()) note_late_exit(code);
        if (code == exit_code::kIntr) nmi_.interrupt_exit();
        if (after_interrupt_exits(code)) continue;
        if (code == exit_code::kIret) {  // the backend's own: the IRET runs at the next entry
            nmi_.iret_exit(vmcb_->save.rip);  // (an interrupt's follow-up: nothing for the NMI)
            stats_count_exit(ExitReason::InterruptWindow);
            continue;
        }
        RawExit raw{code, vmcb_->control.exit_info1, vmcb_->control.exit_info2,
                    vmcb_->save.rip, vmcb_->control.next_rip, has_nrips_};
        return decode_exit(raw);
    }
}

}  // namespace tv::svm
