// The VMX implementation of Vcpu: one VMCS (the CPU's current one), its exit decoding and
// the CR0/CR4 shadowing that hides VMX's fixed bits from the guest.
#pragma once

#include "core/arch/x86/vmx/vmx_caps.hpp"
#include "core/arch/x86/vmx/vmx_exit_decode.hpp"
#include "core/vcpu.hpp"
#include "core/virt_backend.hpp"

namespace tv::vmx {

class VmxVcpu final : public Vcpu {
  public:
    VmxVcpu(u32 id, VmxCaps const& caps, u64 eptp) : Vcpu(id), caps_(caps), eptp_(eptp), proc_(caps.proc) {}

    // Guest state and the CR0/CR4 masks; the VMCS must be current and its controls written.
    void init_real_mode(RealModeStart const& s);
    // The same for a running 64-bit CPU (the UEFI path): every register as captured.
    void init_long_mode(LongModeStart const& s);

    ExitRecord run() override;
    u64 rip() const override;
    void set_rip(u64 v) override;
    u64 rflags() const override;
    void set_rflags(u64 v) override;
    u64 cr0() const override;
    u64 cr3() const override;
    u64 cr4() const override;
    u64 efer() const override;
    void set_efer(u64 v) override;
    Segment segment(SegReg r) const override;
    u8 cpl() const override;
    void inject_exception(u8 vector, bool has_error, u32 error) override;
    void inject_nmi() override;
    void set_single_step(bool on) override;
    void flush_nested_tlb() override;
    bool emulate_cr_access(ExitRecord const& e) override;
    bool start_at_sipi(u8 vector) override;

  private:
    ExitRecord entry_failed() const;
    void reinject_interrupted_event(u32 insn_len);
    void after_nmi_exits(RawExit const& raw);
    void deliver_pending_nmi();
    void set_nmi_window(bool on);
    u32 pin_controls() const;
    void arm_preemption_timer();
    [[nodiscard]] bool write_cr(u8 cr, u64 value);
    [[nodiscard]] bool write_cr0(u64 value);
    [[nodiscard]] bool write_cr4(u64 value);
    void set_long_mode(bool active);
    void load_pdptes();

    VmxCaps caps_;
    u64 eptp_;
    u32 proc_;  // primary processor-based controls as written (MTF toggles)
    bool launched_ = false;
    bool stepping_ = false;
    bool guest_tf_ = false;  // the guest's own RFLAGS.TF while a TF single step runs
    bool nmi_pending_ = false;  // a guest NMI waits for an NMI-window exit
    bool step_interrupt_exits_ = false;  // a TF single step wants external-interrupt exits
    bool timer_armed_ = false;           // the preemption timer runs for the monitor clock
};

}  // namespace tv::vmx
