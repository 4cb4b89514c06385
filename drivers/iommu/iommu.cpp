// The IOMMU calls the rest of the monitor makes, over both drivers: Intel VT-d (vtd_monitor.cpp,
// from the DMAR table) and AMD-Vi (amdvi_monitor.cpp, from the IVRS table).
#include "drivers/iommu/iommu.hpp"

#include "core/log.hpp"
#include "drivers/iommu/iommu_units.hpp"

namespace tv::iommu {

Status iommu_prepare() {
    bool const vtd = vtd_monitor_prepare();
    bool const amdvi = amdvi_monitor_prepare();
    if (!vtd && !amdvi)
        log("iommu: no DMAR or IVRS table: no IOMMU, unmediated devices fall under the bus-master policy");
    return Status::Ok;
}

bool iommu_guards(u8 bus, u8 dev, u8 fn) {
    return vtd_monitor_guards(bus, dev, fn) || amdvi_monitor_guards(bus, dev, fn);
}

Status iommu_enable(PageSource& ps, u64 top) {
    if (Status s = vtd_monitor_enable(ps, top); !ok(s)) return s;
    return amdvi_monitor_enable(ps, top);
}

bool iommu_remaps_interrupts() { return amdvi_irq_sources() != 0; }

void iommu_ioapic_entry(u8 pin, u64 rte) { amdvi_irq_ioapic(pin, rte); }

void iommu_msi_message(u8 bus, u8 dev, u8 fn, u64 address, u32 data, u32 vectors, u32 msix_entry) {
    amdvi_irq_msi(amdvi_monitor_requester(pci::Bdf{bus, dev, fn}), address, data, vectors, msix_entry);
}

}  // namespace tv::iommu
