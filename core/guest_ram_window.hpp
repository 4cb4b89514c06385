// Where a mediator may copy guest descriptors and data from and to: guest RAM, never the
// monitor's region and never device memory (a copy through the direct map into a BAR or
// MMCONFIG would reprogram hardware behind the hooks). Guest RAM is everything below the end
// of low RAM rounded up to 2 MiB (the firmware keeps its own reserved tables at the top of
// low RAM, and SeaBIOS puts its AHCI structures there) and RAM above 4 GiB.
#pragma once

#include "core/memmap.hpp"
#include "core/types.hpp"

namespace tv {

class GuestRamWindow {
  public:
    void init(MemoryMap const& firmware_map);
    [[nodiscard]] bool ok(u64 gpa, u64 len) const;
    [[nodiscard]] bool read(u64 gpa, void* dst, u64 len) const;
    [[nodiscard]] bool write(u64 gpa, void const* src, u64 len) const;

  private:
    u64 low_end_{0}, high_end_{0};
};

}  // namespace tv
