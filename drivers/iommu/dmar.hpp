// The ACPI DMAR table (Intel VT-d): where the remapping hardware units (DRHD) have their
// registers, which of them covers every PCI device its segment has (INCLUDE_PCI_ALL), and the
// memory the firmware says devices keep using (RMRR). The monitor gives every unit the same
// tables, so a unit's device scopes only say which devices some unit covers. Pure: it parses a
// copy of the table, which comes from firmware and is trusted no more than any input (fuzzed
// by tests/unit/fuzz_dmar.cpp).
#pragma once

#include <stddef.h>

#include "core/types.hpp"

namespace tv::iommu {

struct DmarUnit {
    u64 reg_base;      // 4 KiB aligned
    u16 segment;
    bool include_all;  // every device of its segment no other unit lists
    u8 size_log2;      // the register set is 2^size_log2 4 KiB pages
};

// A device scope entry of a unit whose path is one step long (a device on the start bus; a
// longer path goes through bridges and is kept with depth > 1, matching nothing).
struct DmarScope {
    u8 type;  // 1: PCI endpoint, 2: PCI sub-hierarchy (a bridge and all behind it), 3: IOAPIC, 4: HPET
    u8 bus, dev, fn;
    u8 depth;  // path elements
};

struct DmarReserved {
    u64 base, limit;  // inclusive, page granular
    u16 segment;
};

struct DmarInfo {
    static constexpr u32 kMaxUnits = 8, kMaxReserved = 16, kMaxScopes = 64;
    u8 address_width;  // host address width in bits
    bool intr_remap;   // the platform supports interrupt remapping (flag bit 0)
    DmarUnit units[kMaxUnits];
    u32 unit_count;
    DmarReserved reserved[kMaxReserved];
    u32 reserved_count;
    DmarScope scopes[kMaxScopes];  // of the DRHDs on segment 0 (all units share the monitor's tables)
    u32 scope_count;
};

enum class DmarError : u8 {
    None,
    Short,       // shorter than its header or its own length field
    Signature,   // not "DMAR"
    Structure,   // a remapping structure or device scope with a bad length or fields
    TooMany,     // more units or reserved ranges than the monitor holds
    NoUnit,      // no DRHD at all
};
char const* dmar_error_name(DmarError e);

// Whether some unit of segment 0 covers function (bus, dev, fn): one with INCLUDE_PCI_ALL, an
// endpoint scope naming it, or a sub-hierarchy scope naming it or a bridge whose secondary to
// subordinate buses hold it (`buses` reads a bridge's two bus numbers; false: not a bridge).
// Scopes reached through bridges (paths longer than one step) match nothing: such a device
// counts as not covered, which is the safe answer.
using BridgeBuses = bool (*)(void* ctx, u8 bus, u8 dev, u8 fn, u8* secondary, u8* subordinate);
bool dmar_covers(DmarInfo const& info, u8 bus, u8 dev, u8 fn, BridgeBuses buses, void* ctx);

// Parses the table at `table` (len bytes available; the header's length must fit in them).
// The checksum is the caller's (core/acpi checks every table it hands out).
[[nodiscard]] DmarError dmar_parse(u8 const* table, size_t len, DmarInfo* out);

}  // namespace tv::iommu
