// The interrupt controllers IrqLine sends through, at register level: the IOAPIC's
// select/window pair and the local APIC (x2APIC MSRs, or the xAPIC page at IA32_APIC_BASE).
// The guest owns both controllers, so everything the monitor changes is put back: the
// IOAPIC's register select, and the xAPIC's ICR high half (the guest may be between its own
// two ICR writes on this CPU). An xAPIC page the guest moved over the monitor's region is
// never written. Pure: the registers are reached through InterruptRegisters (the direct map
// and MSRs in the monitor, fakes in host tests).
//
// The IOAPIC's select/window pair is also the guest's, reached through the IOAPIC guard's
// hook (core/device/ioapic_guard) on any CPU: the monitor's own read runs under that hook's
// device lock, or a guest window access on another CPU could land between the monitor's
// select and its window read (and either side would read or write the wrong register). That
// lock is a leaf (the guard's hook takes no other), so a device may raise its line from inside
// its own hook (the AoE disk's IRQ 14).
#pragma once

#include "core/device/device.hpp"
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

    // `ioapic`: the device the IOAPIC's hook runs under.
    constexpr ApicControllers(InterruptRegisters& regs, Device& ioapic) : regs_(regs), ioapic_(ioapic) {}
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
    Device& ioapic_;
    u64 excluded_base_{0}, excluded_size_{0};
    u64 refusals_{0};
};

}  // namespace tv
