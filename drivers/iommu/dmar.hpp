// The ACPI DMAR table (Intel VT-d): where the remapping hardware units (DRHD) have their
// registers, which of them covers every PCI device its segment has (INCLUDE_PCI_ALL), and the
// memory the firmware says devices keep using (RMRR). The monitor maps all of guest memory
// for every device, so device scopes are only checked for shape, not used. Pure: it parses a
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

struct DmarReserved {
    u64 base, limit;  // inclusive, page granular
    u16 segment;
};

struct DmarInfo {
    static constexpr u32 kMaxUnits = 8, kMaxReserved = 16;
    u8 address_width;  // host address width in bits
    bool intr_remap;   // the platform supports interrupt remapping (flag bit 0)
    DmarUnit units[kMaxUnits];
    u32 unit_count;
    DmarReserved reserved[kMaxReserved];
    u32 reserved_count;
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

// Parses the table at `table` (len bytes available; the header's length must fit in them).
// The checksum is the caller's (core/acpi checks every table it hands out).
[[nodiscard]] DmarError dmar_parse(u8 const* table, size_t len, DmarInfo* out);

}  // namespace tv::iommu
