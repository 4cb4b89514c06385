#include "core/device/guest_memory.hpp"

#include <string.h>

namespace tv {

namespace {

constexpr u64 kVgaStart = 0xA0000, kVgaEnd = 0xC0000, kOneMiB = 1ull << 20;
constexpr u64 kFourGiB = 4ull << 30;

bool is_ram(MemType t) { return t == MemType::Usable || t == MemType::AcpiReclaim || t == MemType::AcpiNvs; }

}  // namespace

bool GuestMemory::add(u64 base, u64 end) {
    u64 const top = maxphyaddr_ >= 64 ? ~0ull : 1ull << maxphyaddr_;
    if (end > top) end = top;  // the CPU cannot address beyond its width, so neither may a copy
    if (base >= end) return true;
    if (n_ == kMaxRanges) return false;
    ranges_[n_++] = Range{base, end};
    return true;
}

// Sorted, touching ranges merged (RAM next to ACPI NVS is one run of RAM), then the
// monitor's region cut out, which may split one range in two.
void GuestMemory::normalize(u64 monitor_base, u64 monitor_end) {
    for (size_t i = 1; i < n_; ++i)
        for (size_t j = i; j > 0 && ranges_[j].base < ranges_[j - 1].base; --j) {
            Range const t = ranges_[j];
            ranges_[j] = ranges_[j - 1];
            ranges_[j - 1] = t;
        }
    size_t out = 0;
    for (size_t i = 0; i < n_; ++i) {
        if (out && ranges_[i].base <= ranges_[out - 1].end) {
            if (ranges_[i].end > ranges_[out - 1].end) ranges_[out - 1].end = ranges_[i].end;
        } else {
            ranges_[out++] = ranges_[i];
        }
    }
    n_ = out;
    for (size_t i = 0; i < n_; ++i) {
        Range& r = ranges_[i];
        if (r.end <= monitor_base || r.base >= monitor_end) continue;
        Range const tail{monitor_end, r.end};
        r.end = r.base < monitor_base ? monitor_base : r.base;
        bool const keep_tail = tail.base < tail.end;
        if (r.base == r.end) {  // nothing below the monitor: the tail (if any) takes its place
            r = tail;
            if (!keep_tail) {
                memmove(&ranges_[i], &ranges_[i + 1], (n_ - i - 1) * sizeof(Range));
                --n_;
                --i;
            }
        } else if (keep_tail) {  // kMaxRanges leaves room for this one split
            memmove(&ranges_[i + 2], &ranges_[i + 1], (n_ - i - 1) * sizeof(Range));
            ranges_[i + 1] = tail;
            ++n_;
            ++i;
        }
    }
}

Status GuestMemory::init(MemoryMap const& m, u64 monitor_base, u64 monitor_size, u8 maxphyaddr, u8* direct_map) {
    n_ = 0;
    maxphyaddr_ = maxphyaddr ? maxphyaddr : 52;
    direct_map_ = direct_map;
    u64 low_end = 0;
    for (size_t i = 0; i < m.count(); ++i) {
        MemRange const& r = m.at(i);
        if (!is_ram(r.type)) continue;
        if (!add(r.base, r.end())) return Status::NoMemory;
        if (r.end() <= kFourGiB && r.end() > low_end) low_end = r.end();
    }
    if (!add(0, kVgaStart) || !add(kVgaEnd, kOneMiB) || !add(low_end, align_up(low_end, kLargePageSize)))
        return Status::NoMemory;
    // One spare slot for the split around the monitor's region.
    if (n_ == kMaxRanges) return Status::NoMemory;
    normalize(monitor_base, monitor_base + monitor_size);
    return Status::Ok;
}

bool GuestMemory::ok(Gpa gpa, u64 len) const {
    u64 const end = gpa.raw + len;
    if (len == 0 || end < gpa.raw) return false;
    for (size_t i = 0; i < n_; ++i)
        if (gpa.raw >= ranges_[i].base && end <= ranges_[i].end) return true;
    return false;
}

u8* GuestMemory::ptr(Gpa gpa, u64 len) const { return ok(gpa, len) ? direct_map_ + gpa.raw : nullptr; }

bool GuestMemory::read(Gpa gpa, void* dst, u64 len) const {
    u8 const* p = ptr(gpa, len);
    if (!p) return false;
    memcpy(dst, p, len);
    return true;
}

bool GuestMemory::write(Gpa gpa, void const* src, u64 len) const {
    u8* p = ptr(gpa, len);
    if (!p) return false;
    memcpy(p, src, len);
    return true;
}

}  // namespace tv
