// The monitor's PCI drivers, attached through the registry (core/device/pci_registry).
#pragma once

#include "core/device/pci_registry.hpp"

namespace tv::pci {

// After pci_init() and the disk-key unlock, before pci_ports_install(): offers the functions
// found to every driver in order. An error names the driver in the log.
[[nodiscard]] Status pci_drivers_attach();
// The driver that owns `part` of function b (kAllParts: any part), or nullptr.
PciDriver const* pci_owner(Bdf b, u8 part);
// The functions no driver took: bus mastering refused unless [pci] allow_dma names them
// (drivers/pci/bus_master.hpp). Called by pci_drivers_attach() once every driver attached.
[[nodiscard]] Status pci_bus_master_policy_install();
// Every function's MSI data register: no INIT or SMI delivery (drivers/pci/msi_guard.hpp).
[[nodiscard]] Status pci_msi_guard_install();

}  // namespace tv::pci
