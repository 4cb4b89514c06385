// The AHCI mediator in the monitor: every AHCI controller (PCI class 01:06:01) gets its ABAR
// hooked (following BAR moves) and its ports mediated by drivers/ata/ahci_hba + ahci_port,
// with transparent XTS encryption of the disks thinvisor.conf names. docs/ata.md explains it.
#pragma once

#include "core/types.hpp"

namespace tv::ata {

// After PCI enumeration and the disk-key unlock, before the guest runs. A controller whose
// ABAR another hook claimed already (mmio_passthrough_test=ahci) is left to that hook.
[[nodiscard]] Status ahci_mediator_install();

}  // namespace tv::ata
