#include "core/guest_ram_window.hpp"

#include <string.h>

#include "core/layout.hpp"
#include "core/memory.hpp"

namespace tv {

namespace {
constexpr u64 kFourGiB = 4ull << 30;
}

void GuestRamWindow::init(MemoryMap const& m) {
    low_end_ = 0;
    for (size_t i = 0; i < m.count(); ++i) {
        MemRange const& r = m.at(i);
        bool const ram = r.type == MemType::Usable || r.type == MemType::AcpiReclaim || r.type == MemType::AcpiNvs;
        if (ram && r.end() <= kFourGiB && r.end() > low_end_) low_end_ = r.end();
    }
    low_end_ = align_up(low_end_, kLargePageSize);
    high_end_ = m.top_of_ram();
}

bool GuestRamWindow::ok(u64 gpa, u64 len) const {
    u64 const end = gpa + len;
    if (len == 0 || end < gpa) return false;
    if (!(end <= low_end_ || (gpa >= kFourGiB && end <= high_end_))) return false;
    MonitorRegion const& r = monitor_region();
    return end <= r.base || gpa >= r.base + r.size;
}

bool GuestRamWindow::read(u64 gpa, void* dst, u64 len) const {
    if (!ok(gpa, len)) return false;
    memcpy(dst, phys_to_virt(gpa), len);
    return true;
}

bool GuestRamWindow::write(u64 gpa, void const* src, u64 len) const {
    if (!ok(gpa, len)) return false;
    memcpy(phys_to_virt(gpa), src, len);
    return true;
}

}  // namespace tv
