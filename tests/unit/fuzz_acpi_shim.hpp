// Force-included (clang -include) into core/acpi.cpp for fuzz_acpi: the monitor's direct map
// (phys_to_virt) and boot information become the harness's model of physical memory, so the
// unmodified parser runs on the host. The real headers come first (they are #pragma once);
// the names are then redirected for the code that follows.
#pragma once

#include "core/boot_info.hpp"
#include "core/layout.hpp"

namespace tv {
void* fuzz_phys_to_virt(u64 phys);
BootInfo& fuzz_boot_info();
}  // namespace tv

#define phys_to_virt fuzz_phys_to_virt
#define boot_info fuzz_boot_info
