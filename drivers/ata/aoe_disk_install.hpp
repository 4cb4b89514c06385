// The AoE disk's place in the monitor (drivers/ata/aoe_disk_install.cpp).
#pragma once

#include "core/types.hpp"

namespace tv::ata {

// With [network] and [aoe] in thinvisor.conf and a mediated NIC: finds the target (waiting
// up to [aoe] timeout_ms), claims the primary IDE channel's ports and channel 0 of the PIIX
// bus master, and (BIOS boot) makes the disk BIOS drive 0x80. Otherwise nothing is hooked.
// Call after the NIC mediator and before the IDE mediator.
[[nodiscard]] Status aoe_disk_install();
// True once the AoE disk owns the primary channel: the IDE mediator leaves it alone.
bool aoe_disk_owns_primary();
// Counters of the disk and its initiator, a few log lines.
void aoe_disk_log();

}  // namespace tv::ata
