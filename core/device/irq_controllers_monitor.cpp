// The monitor's interrupt controllers for IrqLine. The IOAPIC and the xAPIC page are reached
// through the direct map: the firmware's MTRRs make those ranges uncached. The guest owns both
// controllers (it is never interrupted by the monitor's accesses on its own CPU, since the
// monitor runs with the guest stopped), so everything the monitor changes is put back: the
// IOAPIC's register select and the xAPIC's ICR high half.
#include "core/arch/x86/cpu.hpp"
#include "core/device/irq_line.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"

namespace tv {

namespace {

constexpr u64 kIoApic = 0xFEC00000;  // the standard address every PC firmware uses
constexpr u32 kApicBaseMsr = 0x1B, kX2apicIcr = 0x830, kX2apicSelfIpi = 0x83F;
constexpr u64 kApicX2Enable = 1ull << 10;
constexpr u32 kIcrLow = 0x300 / 4, kIcrHigh = 0x310 / 4;
constexpr u32 kIcrSelf = 1u << 18, kIcrLogical = 1u << 11, kIcrLowest = 1u << 8;

u32 volatile* mmio32(u64 phys) { return static_cast<u32 volatile*>(phys_to_virt(phys)); }

class MonitorControllers final : public IrqControllers {
  public:
    u32 ioapic_entry_low(u32 gsi) override {
        u32 volatile* io = mmio32(kIoApic);
        u32 const sel = io[0];
        io[0] = 0x10 + 2 * gsi;
        u32 const lo = io[4];
        io[0] = sel;
        return lo;
    }

    bool send_ipi(IpiMessage const& m) override {
        u64 const base = x86::rdmsr(kApicBaseMsr);
        u32 const low = (m.logical ? kIcrLogical : 0) | (m.lowest ? kIcrLowest : 0) | m.vector;
        if (base & kApicX2Enable) {
            if (m.self) x86::wrmsr(kX2apicSelfIpi, m.vector);
            else x86::wrmsr(kX2apicIcr, static_cast<u64>(m.dest) << 32 | low);
            return true;
        }
        // The guest may have moved the APIC page (IA32_APIC_BASE): never write an ICR that
        // lies in the monitor's own memory.
        u64 const page = base & 0x000FFFFFFFFFF000ull;
        MonitorRegion const& r = monitor_region();
        if (page + kPageSize > r.base && page < r.base + r.size) {
            if (refusals_++ < 4) log("irq: the APIC page %#llx lies in monitor memory; interrupt not sent",
                                     static_cast<unsigned long long>(page));
            return false;
        }
        u32 volatile* apic = mmio32(page);
        if (m.self) {
            apic[kIcrLow] = kIcrSelf | m.vector;
            return true;
        }
        u32 const high = apic[kIcrHigh];  // the guest may be between its own two ICR writes
        apic[kIcrHigh] = (m.dest & 0xFF) << 24;
        apic[kIcrLow] = low;
        apic[kIcrHigh] = high;
        return true;
    }

  private:
    u32 refusals_{0};
};

constinit MonitorControllers g_controllers;

}  // namespace

IrqControllers& irq_controllers() { return g_controllers; }

}  // namespace tv
