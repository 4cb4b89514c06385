// The IOMMU in the monitor (docs/iommu.md): Intel VT-d where the firmware's DMAR table names
// remapping hardware, AMD-Vi where its IVRS table does. Init order (core/main.cpp):
// iommu_prepare() before PCI enumeration (finds the units, hides them and the DMAR/IVRS table
// from the guest whether or not they can be used), iommu_enable() once the PCI drivers attached
// (mediated functions are then known).
#pragma once

#include "core/nested_paging.hpp"

namespace tv::iommu {

[[nodiscard]] Status iommu_prepare();
// True when iommu_enable() will fence function (bus, dev, fn) from the monitor's region
// (every unit usable, and one of them covers the function): the bus-master policy then stands
// aside for it.
bool iommu_guards(u8 bus, u8 dev, u8 fn);
// Builds the tables over [0, top) and turns translation on in every unit. An error after
// iommu_guards_unmediated() said yes must stop the boot.
[[nodiscard]] Status iommu_enable(PageSource& ps, u64 top);

// Interrupt remapping (AMD-Vi; docs/iommu.md "Interrupt remapping on AMD-Vi"): each message the
// guest programs into a source, reported before the write reaches it (the IOAPIC guard: a
// redirection entry (its pin) as it will be; the MSI guard: a function's MSI or one MSI-X entry, `vectors`
// messages from `data` on). Nothing happens where no unit remaps interrupts.
// Whether any unit remaps interrupts (the guards skip the work of a report otherwise).
bool iommu_remaps_interrupts();
void iommu_ioapic_entry(u8 pin, u64 rte);
// msix_entry: the MSI-X table entry, or kNotMsix for the MSI capability.
inline constexpr u32 kNotMsix = 0xFFFFFFFF;
void iommu_msi_message(u8 bus, u8 dev, u8 fn, u64 address, u32 data, u32 vectors, u32 msix_entry);

}  // namespace tv::iommu
