// The one rule for what the monitor may touch as guest memory, on the guest's behalf: the
// memory side of an emulated instruction (MMIO emulation, string I/O, the guest's page-table
// walk) and every copy a mediator makes for a device's DMA (descriptors, PRD tables, data
// through bounce buffers). Both follow the same rule, because both end in the monitor
// writing through its write-back direct map: anything that is not RAM there would reach a
// device behind its hooks, and the monitor's own region would hand the guest its secrets.
//
// Guest RAM is:
//   - the firmware's RAM ranges (usable, ACPI reclaimable, ACPI NVS);
//   - the BIOS areas below 1 MiB, except the legacy VGA window [0xA0000, 0xC0000), which
//     is a device;
//   - the tail of low RAM up to the next 2 MiB boundary: the firmware keeps its own reserved
//     tables there, and SeaBIOS puts its AHCI command lists in it;
// never the monitor's region, and never at or above 2^MAXPHYADDR. A range is accepted only
// when every byte of it is guest RAM: a range that wraps, that straddles RAM and a hole or
// that touches the monitor's first or last byte is refused whole.
#pragma once

#include "core/memmap.hpp"
#include "core/types.hpp"

namespace tv {

class GuestMemory {
  public:
    // Merged ranges the rule can hold: every firmware RAM range plus the three fixed ones.
    static constexpr size_t kMaxRanges = MemoryMap::kMaxEntries + 4;

    // Builds the rule from the firmware's map (as the firmware reported it: the monitor's
    // region is taken out here), the monitor's region and the CPU's physical-address width
    // (CPUID 0x80000008 EAX[7:0]). `direct_map` is where guest-physical 0 is mapped for the
    // copies (the monitor's direct map; a buffer in host tests). NoMemory when the map has
    // more separate RAM ranges than kMaxRanges.
    [[nodiscard]] Status init(MemoryMap const& firmware_map, u64 monitor_base, u64 monitor_size, u8 maxphyaddr,
                              u8* direct_map);

    [[nodiscard]] bool ok(Gpa gpa, u64 len) const;
    [[nodiscard]] bool read(Gpa gpa, void* dst, u64 len) const;
    [[nodiscard]] bool write(Gpa gpa, void const* src, u64 len) const;
    // Where a range that ok() accepted is reached; nullptr for one it refuses.
    [[nodiscard]] u8* ptr(Gpa gpa, u64 len) const;

    u8 maxphyaddr() const { return maxphyaddr_; }
    size_t range_count() const { return n_; }
    // The i-th range of guest RAM, [*base, *end), in address order; false past the last.
    [[nodiscard]] bool range(size_t i, u64* base, u64* end) const {
        if (i >= n_) return false;
        *base = ranges_[i].base;
        *end = ranges_[i].end;
        return true;
    }

  private:
    struct Range {
        u64 base, end;  // [base, end)
    };
    [[nodiscard]] bool add(u64 base, u64 end);
    void normalize(u64 monitor_base, u64 monitor_end);

    Range ranges_[kMaxRanges]{};
    size_t n_{0};
    u8 maxphyaddr_{0};
    u8* direct_map_{nullptr};
};

// The monitor's rule, built once in core/main.cpp before any mediator or emulation runs.
[[nodiscard]] Status guest_memory_init(MemoryMap const& firmware_map);
GuestMemory const& guest_memory();

}  // namespace tv
