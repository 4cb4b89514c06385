// The AoE disk's place in the monitor (drivers/aoe_disk/aoe_disk_install.cpp).
#pragma once

#include "core/device/pci_registry.hpp"

namespace tv::ata {

// The AoE disk's driver (core/device/pci_registry). With [network] and [aoe] in
// thinvisor.conf and a mediated NIC: finds the target (waiting up to [aoe] timeout_ms),
// takes the first IDE function's primary channel (its legacy ports and channel 0 of the PIIX
// bus master), and (BIOS boot) makes the disk BIOS drive 0x80. Otherwise nothing is hooked.
// Attached after the NIC's driver (it needs the monitor's FramePort) and before the IDE
// mediator's (which is then offered only the channels left).
extern pci::PciDriver const kAoeDiskDriver;
// Counters of the disk and its initiator, a few log lines.
void aoe_disk_log();

}  // namespace tv::ata
