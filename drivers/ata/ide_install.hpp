// The IDE mediator in the monitor: finds the IDE controllers (PCI class 01:01), claims their
// channels' ports and bus-master registers, pins their BARs, and probes the disks.
#pragma once

#include "core/types.hpp"

namespace tv::ata {

// After PCI enumeration and disk key unlocking, before pci_ports_install() and
// io_hooks_apply(). Ok when there is no IDE controller.
[[nodiscard]] Status ide_mediator_install();
// One log line per channel with its command, refusal and transfer counts.
void ide_mediator_log();

}  // namespace tv::ata
