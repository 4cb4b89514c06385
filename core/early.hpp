// Start-up steps shared by the multiboot entry (core/early.cpp) and the UEFI entry
// (core/boot_uefi.cpp). Both run before the monitor has its own page tables.
#pragma once

#include "core/boot_info.hpp"
#include "core/types.hpp"

namespace tv {

// A non-empty .init_array means code that expects static constructors: refuse to start.
bool image_has_static_constructors();

// Bytes of the image from its first (physical) byte to the end of .bss.
u64 image_phys_len();

// Builds the monitor's final page tables (kernel window onto [base, base + kMonitorSize)
// and a direct map of all physical memory) at the top of that region, through the current
// identity map, and makes it the monitor's region. Returns the PML4, or 0 with *why.
[[nodiscard]] u64 build_monitor_tables(BootInfo const& bi, u64 base, char const** why);

}  // namespace tv
