// Just enough ACPI to know how the guest powers off and resets: the FADT's PM1 control
// ports and reset register.
#pragma once

#include "core/types.hpp"

namespace tv {

struct AcpiPower {
    u16 pm1a_cnt, pm1b_cnt;  // 0 = absent
    u16 reset_port;          // 0 = absent or not in I/O space
    u8 reset_value;
};

// Finds the RSDP (given by the UEFI loader, or in the BIOS areas) and reads the FADT.
// False when there is no usable ACPI.
[[nodiscard]] bool acpi_find_power(AcpiPower* out);

// The APIC IDs of the enabled processors in the MADT, at most `max`, in table order (the
// boot CPU first on every firmware seen). 0 when there is no MADT.
u32 acpi_find_cpus(u32* apic_ids, u32 max);

// PCI segment 0's memory-mapped configuration space (ECAM) from the MCFG: function
// (bus, dev, fn)'s 4 KiB at base + (bus - 0 << 20 | dev << 15 | fn << 12), buses start..end.
struct AcpiEcam {
    u64 base;
    u8 start_bus, end_bus;
};
// False when there is no MCFG or it has no entry for segment 0.
[[nodiscard]] bool acpi_find_ecam(AcpiEcam* out);

// The table with signature `sig` (e.g. "DMAR" for Intel VT-d, "IVRS" for AMD-Vi), copied into
// `buf` (at most cap bytes; *len: its length). False when there is none, or it is larger than cap.
[[nodiscard]] bool acpi_copy_table(char const* sig, u8* buf, u32 cap, u32* len);
// Renames that table in the firmware's memory (the guest's) to `renamed` and fixes its
// checksum, so the guest finds no IOMMU to drive (docs/iommu.md says why). True when a table
// was renamed.
bool acpi_hide_table(char const* sig, char const* renamed);

}  // namespace tv
