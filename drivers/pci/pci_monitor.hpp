// PCI in the running monitor: the functions found at boot, the guest's configuration ports
// (CF8-CFF), configuration hooks for mediators and BARs that MMIO hooks follow.
//
// Init order (core/main.cpp): pci_init() enumerates before the guest runs; mediators then
// register configuration hooks and BAR follows; pci_ports_install() claims the ports, CFC-CFF
// only if a configuration hook exists. Hooks registered after that are refused.
#pragma once

#include "core/mmio_hooks.hpp"
#include "drivers/pci/config_hooks.hpp"
#include "drivers/pci/pci.hpp"

namespace tv::pci {

void pci_init();
// The functions found, and the first one of a class (prog_if 0xFF: any), or nullptr.
Function const* pci_functions(size_t* count);
Function const* pci_find_class(u8 class_code, u8 subclass, u8 prog_if);
Function const* pci_find_id(u16 vendor, u16 device);

// The handler runs under dev's lock, whichever route the guest took (ports CF8/CFC or ECAM).
[[nodiscard]] Status pci_config_hook_register(Device& dev, Bdf b, u16 first_reg, u16 count, ConfigHandler fn,
                                              void* ctx, char const* name);
// Moves MMIO hook `hook` whenever the guest reprograms memory BAR `bar` (index 0-5) of b,
// under the hook's device lock.
[[nodiscard]] Status pci_bar_follow(Bdf b, u8 bar, MmioHookId hook);

[[nodiscard]] Status pci_ports_install();

// A guest configuration access (from the data ports or the ECAM window) that reaches a
// hooked register: the hook runs under its device's lock, and what it passes through is
// performed. False, with nothing done, when no hook covers the access.
[[nodiscard]] bool pci_config_route(Vcpu& v, Bdf b, u16 reg, u8 size, bool write, u32* value);

// The monitor's own configuration accesses (size 1, 2 or 4, naturally aligned); the guest's
// address port value is put back afterwards, so a guest between its CF8 write and its data
// access never notices.
u32 pci_config_read(Bdf b, u16 reg, u8 size);
void pci_config_write(Bdf b, u16 reg, u8 size, u32 value);

}  // namespace tv::pci
