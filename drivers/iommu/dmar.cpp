#include "drivers/iommu/dmar.hpp"

#include <string.h>

namespace tv::iommu {

namespace {

// Offsets in the table (VT-d specification, "DMA Remapping Reporting Structure").
constexpr size_t kLengthAt = 4, kWidthAt = 36, kFlagsAt = 37, kFirstStructure = 48;
// Remapping structure types and their fixed parts.
constexpr u16 kDrhd = 0, kRmrr = 1;
constexpr size_t kDrhdFixed = 16, kRmrrFixed = 24, kScopeFixed = 6;
constexpr u64 kPage = 4096;

u16 le16(u8 const* p) { return static_cast<u16>(p[0] | p[1] << 8); }
u32 le32(u8 const* p) { return static_cast<u32>(le16(p)) | static_cast<u32>(le16(p + 2)) << 16; }
u64 le64(u8 const* p) { return static_cast<u64>(le32(p)) | static_cast<u64>(le32(p + 4)) << 32; }

// Device scope entries fill [p, p + n) exactly, each at least 6 bytes with an even path.
bool scopes_ok(u8 const* p, size_t n) {
    for (size_t at = 0; at < n;) {
        if (n - at < kScopeFixed) return false;
        u8 const len = p[at + 1];
        if (len < kScopeFixed || len > n - at || (len - kScopeFixed) % 2 != 0) return false;
        at += len;
    }
    return true;
}

// Records the PCI scopes (checked by scopes_ok) of a segment-0 unit.
DmarError record_scopes(u8 const* p, size_t n, DmarInfo* out) {
    for (size_t at = 0; at < n; at += p[at + 1]) {
        u8 const type = p[at], len = p[at + 1];
        if (type != 1 && type != 2) continue;
        if (out->scope_count == DmarInfo::kMaxScopes) return DmarError::TooMany;
        u8 const depth = static_cast<u8>((len - kScopeFixed) / 2);
        if (depth == 0) return DmarError::Structure;
        out->scopes[out->scope_count++] = DmarScope{type, p[at + 5], p[at + 6], p[at + 7], depth};
    }
    return DmarError::None;
}

DmarError drhd(u8 const* s, size_t len, DmarInfo* out) {
    if (len < kDrhdFixed || !scopes_ok(s + kDrhdFixed, len - kDrhdFixed)) return DmarError::Structure;
    u64 const base = le64(s + 8);
    if (base == 0 || base % kPage != 0 || s[5] > 8) return DmarError::Structure;
    if (out->unit_count == DmarInfo::kMaxUnits) return DmarError::TooMany;
    out->units[out->unit_count++] = DmarUnit{base, le16(s + 6), (s[4] & 1) != 0, s[5]};
    return le16(s + 6) == 0 ? record_scopes(s + kDrhdFixed, len - kDrhdFixed, out) : DmarError::None;
}

DmarError rmrr(u8 const* s, size_t len, DmarInfo* out) {
    if (len < kRmrrFixed || !scopes_ok(s + kRmrrFixed, len - kRmrrFixed)) return DmarError::Structure;
    u64 const base = le64(s + 8), limit = le64(s + 16);
    if (base > limit || base % kPage != 0 || (limit + 1) % kPage != 0) return DmarError::Structure;
    if (out->reserved_count == DmarInfo::kMaxReserved) return DmarError::TooMany;
    out->reserved[out->reserved_count++] = DmarReserved{base, limit, le16(s + 6)};
    return DmarError::None;
}

}  // namespace

char const* dmar_error_name(DmarError e) {
    switch (e) {
        case DmarError::None: return "none";
        case DmarError::Short: return "truncated";
        case DmarError::Signature: return "not a DMAR table";
        case DmarError::Structure: return "a malformed remapping structure";
        case DmarError::TooMany: return "more remapping structures than the monitor holds";
        case DmarError::NoUnit: return "no remapping hardware unit";
    }
    return "?";
}

bool dmar_covers(DmarInfo const& info, u8 bus, u8 dev, u8 fn, BridgeBuses buses, void* ctx) {
    for (u32 i = 0; i < info.unit_count; ++i)
        if (info.units[i].include_all && info.units[i].segment == 0) return true;
    for (u32 i = 0; i < info.scope_count; ++i) {
        DmarScope const& s = info.scopes[i];
        if (s.depth != 1) continue;
        if (s.bus == bus && s.dev == dev && s.fn == fn) return true;
        u8 sec = 0, sub = 0;
        if (s.type == 2 && buses && buses(ctx, s.bus, s.dev, s.fn, &sec, &sub) && sec > s.bus && sec <= bus &&
            bus <= sub)
            return true;
    }
    return false;
}

DmarError dmar_parse(u8 const* table, size_t len, DmarInfo* out) {
    *out = DmarInfo{};
    if (len < kFirstStructure) return DmarError::Short;
    if (memcmp(table, "DMAR", 4) != 0) return DmarError::Signature;
    size_t const total = le32(table + kLengthAt);
    if (total < kFirstStructure || total > len) return DmarError::Short;
    out->address_width = static_cast<u8>(table[kWidthAt] + 1);
    out->intr_remap = (table[kFlagsAt] & 1) != 0;
    for (size_t at = kFirstStructure; at < total;) {
        if (total - at < 4) return DmarError::Structure;
        u16 const type = le16(table + at), slen = le16(table + at + 2);
        if (slen < 4 || slen > total - at) return DmarError::Structure;
        DmarError const e = type == kDrhd ? drhd(table + at, slen, out)
                            : type == kRmrr ? rmrr(table + at, slen, out)
                                            : DmarError::None;  // ATSR, RHSA, ANDD, SATC: not needed
        if (e != DmarError::None) return e;
        at += slen;
    }
    return out->unit_count ? DmarError::None : DmarError::NoUnit;
}

}  // namespace tv::iommu
