// The SVM implementation of Vcpu: one VMCB, its host save area and the exit decoding.
#pragma once

#include "core/arch/x86/svm/svm_intr_take.hpp"
#include "core/arch/x86/svm/svm_nmi.hpp"
#include "core/arch/x86/svm/vmcb.hpp"
#include "core/vcpu.hpp"
#include "core/virt_backend.hpp"

namespace tv::svm {

class SvmVcpu final : public Vcpu {
  public:
    SvmVcpu(u32 id, Vmcb* vmcb, Hpa vmcb_pa, Hpa host_vmcb_pa, bool has_nrips)
        : Vcpu(id), vmcb_(vmcb), vmcb_pa_(vmcb_pa), host_vmcb_pa_(host_vmcb_pa), has_nrips_(has_nrips) {}

    void init_real_mode(RealModeStart const& s);
    void init_long_mode(LongModeStart const& s);

    ExitRecord run() override;
    u64 rip() const override { return vmcb_->save.rip; }
    void set_rip(u64 v) override { vmcb_->save.rip = v; }
    u64 rflags() const override { return vmcb_->save.rflags; }
    void set_rflags(u64 v) override { vmcb_->save.rflags = v; }
    u64 cr0() const override { return vmcb_->save.cr0; }
    u64 cr3() const override { return vmcb_->save.cr3; }
    u64 cr4() const override { return vmcb_->save.cr4; }
    u64 efer() const override;
    void set_efer(u64 v) override;
    Segment segment(SegReg r) const override;
    u8 cpl() const override { return vmcb_->save.cpl; }
    void inject_exception(u8 vector, bool has_error, u32 error) override;
    // Delivered at the next entry whose EVENTINJ is free (an exception reflected or an event
    // re-injected at this exit goes first) and the guest is not in its NMI handler.
    void inject_nmi() override { nmi_.request(); }
    void set_single_step(bool on) override;
    void flush_nested_tlb() override { vmcb_->control.tlb_control = 1; }
    // No CR intercepts are set: the guest owns CR0/CR3/CR4 in the VMCB outright.
    bool emulate_cr_access(ExitRecord const&) override { return false; }
    bool start_at_sipi(u8 vector) override;

  private:
    void reinject_interrupted_event();
    void prepare_nmi();
    void prepare_interrupt_exits();
    [[nodiscard]] bool after_interrupt_exits(u64 code);
    void check_idle_in_service();
    void note_late_exit(u64 code);
    void note_unbidden_interrupt();

    Vmcb* vmcb_;
    Hpa vmcb_pa_;
    Hpa host_vmcb_pa_;
    bool has_nrips_;
    bool guest_efer_svme_ = false;  // what the guest wrote; hardware always has SVME set
    bool stepping_ = false;
    bool guest_tf_ = false;
    NmiBlocking nmi_;
    // The monitor clock's exits (prepare_interrupt_exits).
    TakenVectors taken_;   // interrupts taken in the monitor for the guest
    bool halted_ = false;  // the last exit was a HLT, resumed at halted_rip_
    u64 halted_rip_ = 0;
    u32 idle_in_service_ = 0;  // the in-service vector last seen at an idle HLT (logged once)
    u64 late_logged_due_ = 0;  // the deadline whose late exit was last logged (note_late_exit)
    u32 entry_virq_ = kNoVector;    // V_IRQ's vector at the last entry (note_unbidden_interrupt)
    bool entry_intr_ = false;       // physical interrupts exited at the last entry
};

}  // namespace tv::svm
