// Where the monitor lives: fixed virtual addresses, a physical home chosen at boot.
#pragma once

#include "core/types.hpp"

namespace tv {

inline constexpr u64 kKernelVma = 0xFFFFFFFF80000000ull;
inline constexpr u64 kLoadPhys = 0x200000;  // where the multiboot loader puts the image
inline constexpr u64 kImageVirt = kKernelVma + kLoadPhys;
// All of physical memory (guest RAM included) is mapped here, so the monitor can reach a
// guest-physical page without building a mapping per access.
inline constexpr u64 kDirectMapBase = 0xFFFF800000000000ull;
// The monitor's physical home: image, heap, page tables, VMCBs. Hidden from the guest.
inline constexpr u64 kMonitorSize = 32ull << 20;

struct MonitorRegion {
    u64 base;  // physical, 2 MiB aligned
    u64 size;
};
MonitorRegion const& monitor_region();

inline void* phys_to_virt(u64 phys) { return reinterpret_cast<void*>(kDirectMapBase + phys); }
// Only for addresses inside the monitor image/region (kernel window).
u64 virt_to_phys(void const* p);

}  // namespace tv
