// The AHCI mediator in the monitor: every AHCI controller (PCI class 01:06:01) gets its ABAR
// hooked (following BAR moves) and its ports mediated by drivers/ahci/ahci_hba + ahci_port,
// with transparent XTS encryption of the disks thinvisor.conf names. docs/ahci.md explains it.
#pragma once

#include "core/device/pci_registry.hpp"

namespace tv::ata {

// The AHCI driver (core/device/pci_registry), attached after the disk-key unlock. A
// controller whose ABAR another hook claimed already (mmio_passthrough_test=ahci) is left to
// that hook.
extern pci::PciDriver const kAhciDriver;

}  // namespace tv::ata
