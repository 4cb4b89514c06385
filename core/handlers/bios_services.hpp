// The guest's view of memory through the BIOS: INT 15h E820, E801 and AH=88h answered from
// the monitor's edited memory map, and the real-mode boot of the BIOS boot disk.
#pragma once

#include "core/handlers/bios_disk_regs.hpp"
#include "core/memmap.hpp"
#include "core/vcpu.hpp"
#include "core/virt_backend.hpp"

namespace tv {

// Takes 1 KiB of base memory for the stub, hooks INT 15h, marks the stub Reserved in
// `guest_map`, and returns where the guest must start.
[[nodiscard]] Status bios_services_install(MemoryMap& guest_map, u8 boot_drive, bool intel, RealModeStart* start);

// A disk the monitor emulates becomes BIOS drive `drive`: INT 13h for it goes to fn (from the
// stub, by hypercall), every other drive to the firmware; the BDA hard-disk count includes it.
// Unsupported without the real-mode stub (UEFI boot) or for a floppy number.
[[nodiscard]] Status bios_disk_install(u8 drive, BiosDiskFn fn, void* ctx);

// True when this hypercall came from the stub; it has then been fully handled.
[[nodiscard]] bool bios_services_hypercall(Vcpu& v, MemoryMap const& guest_map);

}  // namespace tv
