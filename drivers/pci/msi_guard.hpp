// MSI data registers, guarded so that no PCI function's MSI carries a delivery mode the guest
// may not program (core/device/irq_delivery.hpp: no INIT, no SMI). The data register's bits
// 10:8 are the delivery mode, exactly as in an IOAPIC entry; a guest configuration write that
// puts a refused mode there reaches the device with fixed delivery instead. MSI-X keeps its
// messages in a table in a BAR: the BAR is an MMIO hook that checks the same byte of every
// entry's data (drivers/pci/msi_guard_monitor.cpp). Pure: the capability walk reads through
// ConfigSpace, the hooks' decisions are plain functions.
#pragma once

#include "core/device/irq_delivery.hpp"
#include "drivers/pci/config_hooks.hpp"

namespace tv::pci {

inline constexpr u8 kCapMsi = 0x05, kCapMsix = 0x11;

// The offset of function b's first capability with `id`, or 0 when it has none (or its list
// is malformed: a pointer into the header, or more links than fit in configuration space).
u16 find_capability(ConfigSpace& cs, Bdf b, u8 id);
// The MSI data register of the capability at `cap`, given its message control word.
constexpr u16 msi_data_reg(u16 cap, u16 control) { return static_cast<u16>(cap + ((control & 0x80) ? 0x0C : 0x08)); }

// A configuration write of `size` bytes at `reg` holding *value, against the MSI data register
// at data_reg: when it writes a refused delivery mode, the mode is made fixed and true is
// returned with *mode saying what was asked.
bool strip_msi_delivery(u16 data_reg, u16 reg, u8 size, u32* value, Delivery* mode);

// An MMIO access of `size` bytes at `off` in a BAR whose MSI-X table is [table, table + len):
// each entry is 16 bytes (address low, high, data, vector control), the data's byte 1 holds the
// delivery mode. When the access writes a refused mode into an entry, the mode is made fixed
// in *value and true is returned with *mode.
bool strip_msix_delivery(u64 table, u64 len, u64 off, u8 size, u64* value, Delivery* mode);

struct MsiGate {
    Bdf bdf;
    u16 data_reg;
    u64 refusals;
    void (*on_refusal)(MsiGate& g, Delivery mode);  // may be null
    // Every write, as it will reach the device (a refused mode made fixed); may be null.
    void (*on_write)(MsiGate& g, u16 reg, u8 size, u32 value);
    u16 cap;  // the capability's offset
};

// Monitor: whether function b's MSI-X table is guarded (its entries' writes are seen).
bool pci_msix_guarded(Bdf b);
ConfigAction msi_gate(void* ctx, Vcpu& v, Bdf b, u16 reg, u8 size, bool write, u32* value);

}  // namespace tv::pci
