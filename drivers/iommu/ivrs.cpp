#include "drivers/iommu/ivrs.hpp"

#include <string.h>

namespace tv::iommu {

namespace {

// Offsets in the table: the ACPI header, IVinfo at 36, eight reserved bytes, then the blocks.
constexpr size_t kLengthAt = 4, kIvinfoAt = 36, kFirstBlock = 48;
// Block types: IVHD in three formats (their fixed parts 24, 40 and 40 bytes), IVMD in three.
constexpr u8 kIvhd10 = 0x10, kIvhd11 = 0x11, kIvhd40 = 0x40, kIvmdAll = 0x20, kIvmdRange = 0x22;
constexpr size_t kIvhdShort = 24, kIvhdLong = 40, kIvmdSize = 32;
// Device entry types (4-byte below 64, 8-byte below 128, 0xF0 variable).
constexpr u8 kAll = 1, kSelect = 2, kStart = 3, kEnd = 4, kAliasSelect = 0x42, kAliasStart = 0x43,
             kExtSelect = 0x46, kExtStart = 0x47, kSpecial = 0x48, kAcpiHid = 0xF0;
constexpr u8 kVarietyIoApic = 1;  // a special entry's byte 7 (2 is an HPET)
constexpr size_t kHidFixed = 22;
constexpr u64 kPage = 4096;

u16 le16(u8 const* p) { return static_cast<u16>(p[0] | p[1] << 8); }
u32 le32(u8 const* p) { return static_cast<u32>(le16(p)) | static_cast<u32>(le16(p + 2)) << 16; }
u64 le64(u8 const* p) { return static_cast<u64>(le32(p)) | static_cast<u64>(le32(p + 4)) << 32; }

IvrsError add_range(IvrsInfo* out, IvrsRange r) {
    for (u32 i = 0; i < out->range_count; ++i) {
        IvrsRange const& o = out->ranges[i];
        if (o.first == r.first && o.last == r.last && o.aliased == r.aliased && o.alias == r.alias)
            return IvrsError::None;  // the same unit described again in another IVHD format
    }
    if (out->range_count == IvrsInfo::kMaxRanges) return IvrsError::TooMany;
    out->ranges[out->range_count++] = r;
    return IvrsError::None;
}

// The length of the device entry at e (avail bytes left); 0 for a malformed one.
size_t entry_length(u8 const* e, size_t avail) {
    size_t n = 0;
    if (e[0] < 0x80) n = size_t{4} << (e[0] >> 6);
    else if (e[0] == kAcpiHid && avail >= kHidFixed) n = kHidFixed + e[21];
    return n <= avail ? n : 0;
}

// A pending start-of-range entry, closed by the next end-of-range entry.
struct Pending {
    bool open;
    u16 first, alias;
    bool aliased;
};

IvrsError device_entry(u8 const* e, Pending* p, bool record, IvrsInfo* out) {
    u16 const devid = le16(e + 1);
    IvrsRange r{devid, devid, 0, false};
    switch (e[0]) {
        case kAll: r = IvrsRange{0, 0xFFFF, 0, false}; break;
        case kSelect: case kExtSelect: case kAcpiHid: break;
        case kAliasSelect: r.alias = le16(e + 5), r.aliased = true; break;
        case kStart: case kExtStart: case kAliasStart:
            if (p->open) return IvrsError::Structure;  // a range never closed
            *p = Pending{true, devid, e[0] == kAliasStart ? le16(e + 5) : u16{0}, e[0] == kAliasStart};
            return IvrsError::None;
        case kEnd:
            if (!p->open || devid < p->first) return IvrsError::Structure;
            r = IvrsRange{p->first, devid, p->alias, p->aliased};
            p->open = false;
            break;
        case kSpecial:  // handle (IOAPIC ID, HPET number) in byte 4, requester ID in 5-6, variety in 7
            if (!record) return IvrsError::None;
            if (e[7] == kVarietyIoApic && out->ioapic_count++ == 0) out->ioapic_devid = le16(e + 5);
            if (out->special_count == IvrsInfo::kMaxSpecial) out->specials_dropped = true;
            else out->specials[out->special_count++] = IvrsInfo::Special{e[7], e[4], le16(e + 5)};
            return IvrsError::None;
        default: return IvrsError::None;  // padding (0), reserved types
    }
    return record ? add_range(out, r) : IvrsError::None;
}

IvrsError ivhd(u8 const* b, size_t len, IvrsInfo* out) {
    size_t const fixed = b[0] == kIvhd10 ? kIvhdShort : kIvhdLong;
    if (len < fixed) return IvrsError::Structure;
    u64 const base = le64(b + 8);
    u16 const segment = le16(b + 16);
    if (base == 0 || base % kPage != 0) return IvrsError::Structure;
    bool known = false;
    for (u32 i = 0; i < out->unit_count; ++i) known = known || out->units[i].reg_base == base;
    if (!known) {
        if (out->unit_count == IvrsInfo::kMaxUnits) return IvrsError::TooMany;
        out->units[out->unit_count++] = IvrsUnit{base, le16(b + 4), le16(b + 6), segment, b[0]};
    }
    Pending p{};
    for (size_t at = fixed; at < len;) {
        size_t const n = entry_length(b + at, len - at);
        if (n == 0) return IvrsError::Structure;
        if (IvrsError const e = device_entry(b + at, &p, segment == 0, out); e != IvrsError::None) return e;
        at += n;
    }
    return p.open ? IvrsError::Structure : IvrsError::None;
}

IvrsError ivmd(u8 const* b, size_t len, IvrsInfo* out) {
    if (len < kIvmdSize) return IvrsError::Structure;
    u64 const base = le64(b + 16), size = le64(b + 24);
    if (size == 0 || base % kPage != 0 || size % kPage != 0 || base + size - 1 < base) return IvrsError::Structure;
    if (out->reserved_count == IvrsInfo::kMaxReserved) return IvrsError::TooMany;
    out->reserved[out->reserved_count++] = IvrsReserved{base, base + size - 1};
    return IvrsError::None;
}

}  // namespace

char const* ivrs_error_name(IvrsError e) {
    switch (e) {
        case IvrsError::None: return "none";
        case IvrsError::Short: return "truncated";
        case IvrsError::Signature: return "not an IVRS table";
        case IvrsError::Structure: return "a malformed IVHD/IVMD block or device entry";
        case IvrsError::TooMany: return "more units, device ranges or memory blocks than the monitor holds";
        case IvrsError::NoUnit: return "no IVHD block";
    }
    return "?";
}

bool ivrs_covers(IvrsInfo const& info, u16 devid, u16* requester) {
    bool found = false;
    *requester = devid;
    for (u32 i = 0; i < info.range_count; ++i) {
        IvrsRange const& r = info.ranges[i];
        if (devid < r.first || devid > r.last) continue;
        found = true;
        if (r.aliased) *requester = r.alias;  // an alias entry is the more specific one
    }
    return found;
}

bool ivrs_fences(IvrsInfo const& info, u16 devid, u16 const* mediated, u32 n) {
    u16 r = 0;
    if (!ivrs_covers(info, devid, &r)) return false;
    for (u32 i = 0; i < n; ++i)
        if (mediated[i] == r) return false;
    return true;
}

IvrsError ivrs_parse(u8 const* table, size_t len, IvrsInfo* out) {
    *out = IvrsInfo{};
    if (len < kFirstBlock) return IvrsError::Short;
    if (memcmp(table, "IVRS", 4) != 0) return IvrsError::Signature;
    size_t const total = le32(table + kLengthAt);
    if (total < kFirstBlock || total > len) return IvrsError::Short;
    out->ivinfo = le32(table + kIvinfoAt);
    for (size_t at = kFirstBlock; at < total;) {
        if (total - at < 4) return IvrsError::Structure;
        u8 const type = table[at];
        u16 const blen = le16(table + at + 2);
        if (blen < 4 || blen > total - at) return IvrsError::Structure;
        IvrsError const e = type == kIvhd10 || type == kIvhd11 || type == kIvhd40 ? ivhd(table + at, blen, out)
                            : type >= kIvmdAll && type <= kIvmdRange         ? ivmd(table + at, blen, out)
                                                                               : IvrsError::None;  // later formats
        if (e != IvrsError::None) return e;
        at += blen;
    }
    return out->unit_count ? IvrsError::None : IvrsError::NoUnit;
}

}  // namespace tv::iommu
