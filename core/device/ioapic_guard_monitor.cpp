// The IOAPIC guard in the monitor: an MMIO hook on the IOAPIC's page (every guest access
// exits; Linux touches it when it sets up or masks a line, not per interrupt), the registers
// reached through the hook's uncached pass-through, refusals logged (the first few) and
// counted at power-off.
#include "core/device/ioapic_guard.hpp"
#include "core/device/irq_controllers.hpp"
#include "core/handlers/power.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/mmio_hooks.hpp"
// The IOMMU is a fence, not a mediator: MSI and IOAPIC routes are checked against its remapping.
#include "drivers/iommu/iommu.hpp"

namespace tv {

constinit Device g_ioapic_device{"ioapic"};

namespace {

constexpr u64 kBase = ApicControllers::kIoApicBase;
constexpr u64 kLoggedRefusals = 8;

class HookRegisters final : public IoApicRegisters {
  public:
    u32 read(u32 offset) override {
        u64 v = 0;
        (void)mmio_device_access(Gpa{kBase + offset}, 4, false, &v);
        return static_cast<u32>(v);
    }
    void write(u32 offset, u32 value) override {
        u64 v = value;
        (void)mmio_device_access(Gpa{kBase + offset}, 4, true, &v);
    }
};

constinit IoApicGuard g_guard{};
HookRegisters g_regs;

// A write through the window into a redirection entry: the interrupt remapping unit learns the
// entry as the write will leave it (drivers/iommu/iommu.hpp), before it reaches the IOAPIC.
void report_entry(u32 offset, u8 size, u64 value) {
    u32 const sel = g_guard.select();
    if (!iommu::iommu_remaps_interrupts()) return;
    if (offset < IoApicGuard::kWindow || offset >= IoApicGuard::kWindow + 4 || sel < IoApicGuard::kFirstRedirection)
        return;
    u32 const low = sel & ~1u;
    g_regs.write(IoApicGuard::kSelect, low);
    u64 rte = g_regs.read(IoApicGuard::kWindow);
    g_regs.write(IoApicGuard::kSelect, low + 1);
    rte |= u64{g_regs.read(IoApicGuard::kWindow)} << 32;
    u32 const shift = 8 * (offset - IoApicGuard::kWindow) + (sel & 1 ? 32 : 0);
    u32 const bytes = size < 4 - (offset - IoApicGuard::kWindow) ? size : 4 - (offset - IoApicGuard::kWindow);
    u64 const mask = (bytes == 4 ? 0xFFFFFFFFull : (1ull << (8 * bytes)) - 1) << shift;
    iommu::iommu_ioapic_entry(static_cast<u8>((low - IoApicGuard::kFirstRedirection) / 2),
                              (rte & ~mask) | ((value << shift) & mask));
}

MmioAction ioapic_access(void*, Vcpu&, Gpa gpa, u8 size, bool write, u64* value) {
    u32 const offset = static_cast<u32>(gpa.raw - kBase);
    if (write) report_entry(offset, size, *value);
    IoApicGuard::Refusal r{};
    if (g_guard.access(g_regs, offset, size, write, value, &r) && g_guard.refusals() <= kLoggedRefusals)
        log("irq: guest IOAPIC pin %u programmed with %s delivery: refused (written as fixed, masked)", r.pin,
            delivery_name(r.mode));
    return MmioAction::Handled;
}

void log_counts() {
    if (u64 const n = g_guard.refusals())
        log("irq: %llu IOAPIC redirection entries refused (INIT, SMI or reserved delivery)",
            static_cast<unsigned long long>(n));
}

}  // namespace

Status ioapic_guard_install() {
    g_guard = IoApicGuard{static_cast<u8>(*static_cast<u32 volatile*>(phys_to_virt(kBase)))};
    Status const s = mmio_hook_register(g_ioapic_device, Gpa{kBase}, kPageSize, ioapic_access, nullptr, "ioapic");
    if (!ok(s)) return s;
    if (!power_off_log_register(log_counts)) log("irq: IOAPIC refusal count not logged at power-off");
    log("irq: IOAPIC at %#llx mediated: INIT, SMI and reserved delivery modes refused",
        static_cast<unsigned long long>(kBase));
    return Status::Ok;
}

}  // namespace tv
