// The chain marker: how GRUB's second pass knows that the monitor already runs.
//
// Installed on a BIOS machine, GRUB loads the monitor, and the monitor boots the boot disk's
// MBR again, which is GRUB again. Just before the guest starts, the monitor writes a marker
// into the BIOS inter-application communications area (0000:04F0, 16 bytes the BIOS leaves to
// programs); the package's /etc/grub.d/42_thinvisor reads it with GRUB's `read_dword`, clears
// it and boots the OS entry instead of the monitor (docs/install.md).
//
// A guest that wrote the marker itself and then reset the machine would make the next GRUB
// boot the OS without the monitor, so every guest reset the monitor sees (CF9, the keyboard
// controller's reset pulse, a triple fault) clears the marker before the reset reaches the
// hardware.
#pragma once

#include "core/types.hpp"

namespace tv {

inline constexpr u64 kBootChainMarkerGpa = 0x4F0;
// Bytes "TVB1" read as a little-endian dword; 42_thinvisor compares against 0x31425654.
inline constexpr u32 kBootChainMarker = 0x31425654;

// Writes (or, with set = false, clears) the marker in the 4 bytes at iac.
void boot_chain_write(u8* iac, bool set);
// The monitor's guest-RAM versions of the above.
void boot_chain_mark();
void boot_chain_clear();

}  // namespace tv
