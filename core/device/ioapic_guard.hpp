// The guest's IOAPIC, mediated so that no redirection entry carries a delivery mode the
// guest may not program (core/device/irq_delivery.hpp). The guest reaches the IOAPIC through
// its select/window pair; the monitor keeps the guest's select in a shadow and performs each
// window access itself (select, then window), so another CPU's or the monitor's own use of
// the select register in between (IrqControllers::ioapic_entry_low) never misdirects it. A
// write that would put a refused mode into a redirection entry's low dword reaches the device
// as a fixed-delivery, masked entry. Pure: the device registers are reached through
// IoApicRegisters (the MMIO hook's pass-through in the monitor, a fake in tests).
#pragma once

#include "core/device/irq_delivery.hpp"

namespace tv {

class IoApicRegisters {
  public:
    // The dword at `offset` in the IOAPIC's page (0x00 select, 0x10 window, 0x40 EOI).
    virtual u32 read(u32 offset) = 0;
    virtual void write(u32 offset, u32 value) = 0;

  protected:
    ~IoApicRegisters() = default;
};

class IoApicGuard {
  public:
    static constexpr u32 kSelect = 0x00, kWindow = 0x10;
    static constexpr u32 kFirstRedirection = 0x10;  // entry n: registers 0x10 + 2n (low), 0x11 + 2n
    static constexpr u32 kMasked = 1u << 16;

    struct Refusal {
        u8 pin;
        Delivery mode;
    };

    explicit constexpr IoApicGuard(u8 select = 0) : select_(select) {}
    // One guest access of `size` bytes (1-8) at `offset` in the page. True when it tried to
    // program a refused delivery mode (*refused says which pin and mode); the rest of the
    // access was carried out all the same.
    [[nodiscard]] bool access(IoApicRegisters& hw, u32 offset, u8 size, bool write, u64* value, Refusal* refused);
    u64 refusals() const { return refusals_; }
    u8 select() const { return select_; }  // the register the guest's window accesses reach

  private:
    bool dword(IoApicRegisters& hw, u32 off, u32 mask, bool write, u32* value, Refusal* refused);
    u8 select_;
    u64 refusals_{0};
};

}  // namespace tv

#include "core/device/device.hpp"

namespace tv {
// The device the guard's hook runs under: the monitor's own IOAPIC reads take it too
// (core/device/irq_controllers).
extern Device g_ioapic_device;
// The monitor's guard on the IOAPIC at ApicControllers::kIoApicBase (an MMIO hook on its
// page; core/device/ioapic_guard_monitor.cpp). Before the guest runs.
[[nodiscard]] Status ioapic_guard_install();
}  // namespace tv
