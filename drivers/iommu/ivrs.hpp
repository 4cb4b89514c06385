// The ACPI IVRS table (AMD I/O Virtualization Reporting Structure, AMD IOMMU specification
// 48882, "I/O Virtualization Reporting Structure"): where each AMD-Vi unit (IVHD block) has its
// registers, which PCI requester IDs its device entries cover (select, ranges, "all", aliases),
// and the memory the firmware says devices keep using (IVMD blocks). Firmware may describe the
// same unit in several IVHD types (10h, 11h, 40h); they share a register base and count once.
// Pure: it parses a copy of the table, trusted no more than any input (fuzzed by
// tests/unit/fuzz_ivrs.cpp). Device IDs are PCI requester IDs: bus << 8 | dev << 3 | fn.
#pragma once

#include <stddef.h>

#include "core/types.hpp"

namespace tv::iommu {

struct IvrsUnit {
    u64 reg_base;     // 4 KiB aligned, non-zero
    u16 devid;        // the unit's own PCI function
    u16 cap_offset;   // its IOMMU capability block in that function's configuration space
    u16 segment;
    u8 type;          // the first IVHD type seen for it
};

// Requester IDs [first, last] a segment-0 unit covers. An alias entry covers its devices, whose
// DMA the unit sees under `alias` (a bridge's ID): aliased is then true.
struct IvrsRange {
    u16 first, last;
    u16 alias;
    bool aliased;
};

struct IvrsReserved {
    u64 base, limit;  // inclusive, page granular
};

struct IvrsInfo {
    static constexpr u32 kMaxUnits = 8, kMaxRanges = 64, kMaxReserved = 16;
    u32 ivinfo;       // IVinfo: virtual/physical address sizes, EFR support
    IvrsUnit units[kMaxUnits];
    u32 unit_count;
    IvrsRange ranges[kMaxRanges];
    u32 range_count;
    IvrsReserved reserved[kMaxReserved];
    u32 reserved_count;
    // IOAPICs a segment-0 unit names by a special entry (type 48h, variety 1): the firmware's
    // statement that their interrupts pass through the unit, which interrupt remapping needs
    // (Linux turns AMD-Vi interrupt remapping off without one). ioapic_devid: the first's ID.
    u32 ioapic_count;
    u16 ioapic_devid;
    // Every special entry of segment 0 (IOAPICs and HPETs: variety 1 or 2, the IOAPIC ID or HPET
    // number, the requester ID their messages carry); past kMaxSpecial, specials_dropped is set.
    static constexpr u32 kMaxSpecial = 8;
    struct Special {
        u8 variety, handle;
        u16 devid;
    } specials[kMaxSpecial];
    u32 special_count;
    bool specials_dropped;
};

enum class IvrsError : u8 {
    None,
    Short,       // shorter than its header or its own length field
    Signature,   // not "IVRS"
    Structure,   // a block or device entry with a bad length, type or fields
    TooMany,     // more units, ranges or reserved blocks than the monitor holds
    NoUnit,      // no IVHD block at all
};
char const* ivrs_error_name(IvrsError e);

inline constexpr u16 ivrs_devid(u8 bus, u8 dev, u8 fn) {
    return static_cast<u16>(bus << 8 | (dev & 31) << 3 | (fn & 7));
}

// Whether some segment-0 unit covers requester ID `devid`; *requester: the ID its DMA carries
// (the alias when an alias entry names one, else devid).
bool ivrs_covers(IvrsInfo const& info, u16 devid, u16* requester);

// Whether the IOMMU fences requester ID `devid` from the monitor: a segment-0 unit covers it, and
// the ID its DMA carries is none of the `n` IDs at `mediated` (which get the full map: an
// unmediated function aliased to a mediated one's ID would share that map).
bool ivrs_fences(IvrsInfo const& info, u16 devid, u16 const* mediated, u32 n);

// Parses the table at `table` (len bytes available; the header's length must fit in them).
// The checksum is the caller's (core/acpi checks every table it hands out).
[[nodiscard]] IvrsError ivrs_parse(u8 const* table, size_t len, IvrsInfo* out);

}  // namespace tv::iommu
