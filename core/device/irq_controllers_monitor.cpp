// The monitor's interrupt controllers for IrqLine: the IOAPIC and the xAPIC page reached
// through the direct map (the firmware's MTRRs make those ranges uncached), the x2APIC
// through its MSRs; a refused interrupt is logged (the first few).
#include "core/arch/x86/cpu.hpp"
#include "core/device/ioapic_guard.hpp"
#include "core/device/irq_controllers.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"

namespace tv {

namespace {

class DirectRegisters final : public InterruptRegisters {
  public:
    u32 mmio_read(u64 phys) override { return *static_cast<u32 volatile*>(phys_to_virt(phys)); }
    void mmio_write(u64 phys, u32 value) override { *static_cast<u32 volatile*>(phys_to_virt(phys)) = value; }
    u64 rdmsr(u32 msr) override { return x86::rdmsr(msr); }
    void wrmsr(u32 msr, u64 value) override { x86::wrmsr(msr, value); }
};

class MonitorControllers final : public IrqControllers {
  public:
    u32 ioapic_entry_low(u32 gsi) override { return apic_.ioapic_entry_low(gsi); }
    bool send_ipi(IpiMessage const& m) override {
        MonitorRegion const& r = monitor_region();
        apic_.exclude(r.base, r.size);
        if (apic_.send_ipi(m)) return true;
        if (apic_.refusals() <= 4) log("irq: the guest's xAPIC page lies in monitor memory; vector %#x not sent", m.vector);
        return false;
    }

  private:
    DirectRegisters regs_{};
    ApicControllers apic_{regs_, g_ioapic_device};
};

constinit MonitorControllers g_controllers;

}  // namespace

IrqControllers& irq_controllers() { return g_controllers; }

}  // namespace tv
