// The monitor's PCI drivers, attached through the registry (core/device/pci_registry).
#pragma once

#include "core/device/pci_registry.hpp"

namespace tv::pci {

// After pci_init() and the disk-key unlock, before pci_ports_install(): offers the functions
// found to every driver in order. An error names the driver in the log.
[[nodiscard]] Status pci_drivers_attach();
// The driver that owns `part` of function b (kAllParts: any part), or nullptr.
PciDriver const* pci_owner(Bdf b, u8 part);

}  // namespace tv::pci
