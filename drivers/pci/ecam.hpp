// PCI configuration through the memory-mapped window (ECAM), mediated with the same hooks as
// the configuration ports. Internal to drivers/pci: pci_ports_install() calls these.
#pragma once

#include "drivers/pci/config_hooks.hpp"

namespace tv::pci {

// Before the router is frozen: finds the window (ACPI MCFG) and pins the chipset register
// that could move it (Q35's PCIEXBAR), so the guest cannot carry the window away from its
// hooks. Ok when there is no window.
// Nothing to protect without hooks (router empty): then nothing is pinned either.
[[nodiscard]] Status ecam_pin_window(ConfigRouter const& router);
// After: an MMIO hook on the 4 KiB page of every function that has a configuration hook;
// every other function's page stays passed through.
[[nodiscard]] Status ecam_install(ConfigRouter const& router);

}  // namespace tv::pci
