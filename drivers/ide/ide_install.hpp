// The IDE mediator in the monitor: finds the IDE controllers (PCI class 01:01), claims their
// channels' ports and bus-master registers, pins their BARs, and probes the disks.
#pragma once

#include "core/device/pci_registry.hpp"

namespace tv::ata {

// The IDE driver (core/device/pci_registry), attached after disk key unlocking, before
// pci_ports_install() and io_hooks_apply(). It takes the channels no earlier driver took.
extern pci::PciDriver const kIdeDriver;
// One log line per channel with its command, refusal and transfer counts.
void ide_mediator_log();

}  // namespace tv::ata
