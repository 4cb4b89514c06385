// The two IOMMU drivers behind drivers/iommu/iommu.hpp (iommu.cpp calls both; a machine has
// one kind or none). Each *_prepare() returns whether the firmware described units of its kind.
#pragma once

#include "core/nested_paging.hpp"
#include "drivers/iommu/amdvi_tables.hpp"
#include "drivers/iommu/ivrs.hpp"
#include "drivers/pci/pci.hpp"

namespace tv::iommu {

bool vtd_monitor_prepare();
bool vtd_monitor_guards(u8 bus, u8 dev, u8 fn);
[[nodiscard]] Status vtd_monitor_enable(PageSource& ps, u64 top);

bool amdvi_monitor_prepare();
bool amdvi_monitor_guards(u8 bus, u8 dev, u8 fn);
[[nodiscard]] Status amdvi_monitor_enable(PageSource& ps, u64 top);
// Queues INVALIDATE_INTERRUPT_TABLE for devid on every unit and waits for it.
void amdvi_monitor_invalidate_interrupts(u16 devid);
// The requester ID function b's requests carry (its IVRS alias, if any).
u16 amdvi_monitor_requester(pci::Bdf b);

// AMD-Vi interrupt remapping (amdvi_irq_monitor.cpp): the tables, set in the device table `dt`
// before the units start (amdvi_irq_started() after), then kept up with the guest's programming.
// Unsupported (nothing changed, logged) when the IVRS does not tell which requester ID the
// guarded IOAPIC's messages carry; *ioapic: that ID.
[[nodiscard]] Status amdvi_irq_build(DeviceTableEntry* dt, IvrsInfo const& info, u16 (*requester)(pci::Bdf),
                                     u16* ioapic);
void amdvi_irq_started();
u32 amdvi_irq_sources();
void amdvi_irq_ioapic(u8 pin, u64 rte);
void amdvi_irq_msi(u16 devid, u64 address, u32 data, u32 vectors, u32 msix_entry);

}  // namespace tv::iommu
