// The interrupt controllers IrqLine sends through, at register level: the IOAPIC's
// select/window pair and the local APIC (x2APIC MSRs, or the xAPIC page at IA32_APIC_BASE).
// The guest owns both controllers, so everything the monitor changes is put back: the
// IOAPIC's register select, and the xAPIC's ICR high half (the guest may be between its own
// two ICR writes on this CPU). An xAPIC page the guest moved over the monitor's region is
// never written. Pure: the registers are reached through InterruptRegisters (the direct map
// and MSRs in the monitor, fakes in host tests).
#pragma once

#include "core/device/irq_line.hpp"

namespace tv {

class InterruptRegisters {
  public:
    virtual u32 mmio_read(u64 phys) = 0;
    virtual void mmio_write(u64 phys, u32 value) = 0;
    virtual u64 rdmsr(u32 msr) = 0;
    virtual void wrmsr(u32 msr, u64 value) = 0;

  protected:
    ~InterruptRegisters() = default;
};

class ApicControllers final : public IrqControllers {
  public:
    static constexpr u64 kIoApicBase = 0xFEC00000;  // the standard address every PC firmware uses
    static constexpr u32 kApicBaseMsr = 0x1B, kX2apicIcr = 0x830, kX2apicSelfIpi = 0x83F;

    explicit constexpr ApicControllers(InterruptRegisters& regs) : regs_(regs) {}
    // Memory the xAPIC page must never lie in: the monitor's region.
    void exclude(u64 base, u64 size) {
        excluded_base_ = base;
        excluded_size_ = size;
    }

    u32 ioapic_entry_low(u32 gsi) override;
    [[nodiscard]] bool send_ipi(IpiMessage const& m) override;
    // xAPIC pages found over excluded memory (each one an interrupt not sent).
    u64 refusals() const { return __atomic_load_n(&refusals_, __ATOMIC_RELAXED); }

  private:
    InterruptRegisters& regs_;
    u64 excluded_base_{0}, excluded_size_{0};
    u64 refusals_{0};
};

}  // namespace tv
