#include "drivers/ide/ide_shadow.hpp"

#include <string.h>

namespace tv::ata {

char const* shadow_error_name(ShadowError e) {
    switch (e) {
        case ShadowError::Ok: return "ok";
        case ShadowError::TableNotRam: return "PRD table outside guest RAM";
        case ShadowError::TooLong: return "PRD table without end-of-table mark";
        case ShadowError::OddAddress: return "PRD region at an odd address";
        case ShadowError::NotGuestRam: return "PRD region outside guest RAM";
        case ShadowError::SizeMismatch: return "PRD byte count differs from the command's";
        case ShadowError::TooBig: return "transfer larger than the bounce buffer";
    }
    return "?";
}

ShadowError PrdShadow::load(IdeEnv& env, Gpa table, u64 expected_bytes, bool exact) {
    n_ = 0;
    total_ = 0;
    u64 const table_gpa = table.raw & ~3ull;
    for (u32 i = 0; i < kMaxPrdEntries; ++i) {
        u64 const at = table_gpa + i * sizeof(PrdEntry);
        if (!env.guest_ram(Gpa{at}, sizeof(PrdEntry))) return ShadowError::TableNotRam;
        PrdEntry e;
        memcpy(&e, env.guest_ptr(Gpa{at}), sizeof e);  // one read per entry: this copy is what counts
        u64 const bytes = e.bytes ? e.bytes : kPrdMaxBytes;
        if (e.base & 1) return ShadowError::OddAddress;
        if (!env.guest_ram(Gpa{e.base}, bytes)) return ShadowError::NotGuestRam;
        // SFF-8038i forbids a region that crosses a 64 KiB boundary, yet firmware does it (OVMF's
        // IDE driver) and controllers cope. The device only ever sees the monitor's own table,
        // so the shadow splits such a region at the boundary instead of refusing the command.
        for (u64 base = e.base, left = bytes; left;) {
            u64 const room = kPrdMaxBytes - (base & (kPrdMaxBytes - 1));
            u64 const chunk = left < room ? left : room;
            if (n_ == kMaxRegions) return ShadowError::TooLong;
            regions_[n_++] = GuestRegion{Gpa{base}, static_cast<u32>(chunk)};
            base += chunk;
            left -= chunk;
        }
        total_ += bytes;
        if (total_ > expected_bytes) return ShadowError::SizeMismatch;
        if (e.flags & kPrdEot) return total_ == expected_bytes || !exact ? ShadowError::Ok : ShadowError::SizeMismatch;
    }
    return ShadowError::TooLong;
}

void PrdShadow::copy_from_guest(IdeEnv& env, u8* dst) const {
    for (u32 i = 0; i < n_; ++i) {
        memcpy(dst, env.guest_ptr(regions_[i].gpa), regions_[i].bytes);
        dst += regions_[i].bytes;
    }
}

void PrdShadow::copy_to_guest(IdeEnv& env, u8 const* src) const {
    for (u32 i = 0; i < n_; ++i) {
        memcpy(env.guest_ptr(regions_[i].gpa), src, regions_[i].bytes);
        src += regions_[i].bytes;
    }
}

void PrdShadow::copy_to_guest_prefix(IdeEnv& env, u8 const* src, u64 n) const {
    for (u32 i = 0; i < n_ && n; ++i) {
        u64 const part = n < regions_[i].bytes ? n : regions_[i].bytes;
        memcpy(env.guest_ptr(regions_[i].gpa), src, part);
        src += part;
        n -= part;
    }
}

u32 build_bounce_prd(PrdEntry* table, u32 max, Hpa bounce, u64 bytes) {
    u64 phys = bounce.raw;
    u32 n = 0;
    while (bytes) {
        if (n == max) return 0;
        u64 const chunk = bytes < kPrdMaxBytes ? bytes : kPrdMaxBytes;
        table[n++] = PrdEntry{static_cast<u32>(phys), static_cast<u16>(chunk & 0xFFFF), 0};
        phys += chunk;
        bytes -= chunk;
    }
    if (n) table[n - 1].flags = kPrdEot;
    return n;
}

u32 build_direct_prd(PrdEntry* table, u32 max, PrdShadow const& shadow) {
    if (shadow.count() == 0 || shadow.count() > max) return 0;
    for (u32 i = 0; i < shadow.count(); ++i) {
        GuestRegion const& r = shadow.at(i);
        table[i] = PrdEntry{static_cast<u32>(r.gpa.raw), static_cast<u16>(r.bytes & 0xFFFF), 0};
    }
    table[shadow.count() - 1].flags = kPrdEot;
    return shadow.count();
}

}  // namespace tv::ata
