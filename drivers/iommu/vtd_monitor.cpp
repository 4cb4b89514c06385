// VT-d in the monitor: the DMAR table is copied and parsed, then renamed so the guest finds no
// remapping hardware; each unit's register pages become an MMIO hook that refuses every guest
// access (a guest that reached them could turn translation off or point it anywhere); once the
// PCI drivers attached, the tables are built and translation turned on (drivers/iommu/
// vtd_tables.hpp has the two domains).
#include "core/acpi.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/mmio_hooks.hpp"
#include "drivers/iommu/dmar.hpp"
#include "drivers/iommu/iommu_units.hpp"
#include "drivers/iommu/vtd_tables.hpp"
#include "drivers/iommu/vtd_unit.hpp"
#include "drivers/pci/pci_drivers.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::iommu {

namespace {

constexpr u32 kMaxDmar = 8192;
constexpr u64 kLoggedRefusals = 8;

class DirectRegisters final : public VtdRegisters {
  public:
    explicit DirectRegisters(u64 base) : base_(base) {}
    u32 read32(u32 off) override { return *static_cast<u32 volatile*>(phys_to_virt(base_ + off)); }
    u64 read64(u32 off) override { return *static_cast<u64 volatile*>(phys_to_virt(base_ + off)); }
    void write32(u32 off, u32 v) override { *static_cast<u32 volatile*>(phys_to_virt(base_ + off)) = v; }
    void write64(u32 off, u64 v) override { *static_cast<u64 volatile*>(phys_to_virt(base_ + off)) = v; }

  private:
    u64 base_;
};

constinit u8 g_dmar[kMaxDmar] = {};
constinit DmarInfo g_info = {};
constinit VtdCaps g_caps[DmarInfo::kMaxUnits] = {};
constinit bool g_usable = false;
constinit u8 g_levels = 4;
constinit u64 g_refused = 0;
constinit Device g_drhd_device{"vtd-registers"};

MmioAction refuse_registers(void*, Vcpu&, Gpa gpa, u8, bool write, u64* value) {
    if (++g_refused <= kLoggedRefusals)
        log("iommu: guest %s of the remapping unit's register at %#llx refused", write ? "write" : "read",
            static_cast<unsigned long long>(gpa.raw));
    if (!write) *value = ~0ull;  // as if nothing answered there
    return MmioAction::Handled;
}

// Checks and hides one unit; false (logged) when the monitor cannot use it.
bool take_unit(DmarUnit const& u, VtdCaps* caps) {
    DirectRegisters regs{u.reg_base};
    char const* why = "";
    bool const usable = u.segment == 0 && vtd_caps(regs, caps, &why);
    if (u.segment != 0) why = "PCI segment other than 0";
    u64 const bytes = align_up(u64{caps->reg_bytes} > (kPageSize << u.size_log2) ? caps->reg_bytes
                                                                                : kPageSize << u.size_log2,
                               kPageSize);
    Status const s = mmio_hook_register(g_drhd_device, Gpa{u.reg_base}, bytes, refuse_registers, nullptr, "vtd-registers");
    if (!ok(s)) {
        log("iommu: VT-d unit at %#llx: its registers cannot be hidden (status %u)",
            static_cast<unsigned long long>(u.reg_base), static_cast<unsigned>(s));
        return false;
    }
    log("iommu: VT-d unit at %#llx (version %#x, %s) hidden from the guest: %s", static_cast<unsigned long long>(u.reg_base),
        regs.read32(kVer), u.include_all ? "all devices of its segment" : "listed devices", usable ? "usable" : why);
    if (usable && caps->levels < g_levels) g_levels = caps->levels;
    return usable;
}

// A PCI-to-PCI bridge's secondary and subordinate bus numbers (header type 1, register 0x18).
bool bridge_buses(void*, u8 bus, u8 dev, u8 fn, u8* secondary, u8* subordinate) {
    pci::Bdf const b{bus, dev, fn};
    if ((pci::pci_config_read(b, pci::kRegVendor, 2) & 0xFFFF) == 0xFFFF) return false;
    if ((pci::pci_config_read(b, pci::kRegHeader + 2, 1) & 0x7F) != 1) return false;
    u32 const v = pci::pci_config_read(b, 0x18, 4);
    *secondary = static_cast<u8>(v >> 8);
    *subordinate = static_cast<u8>(v >> 16);
    return true;
}

bool mediated(void*, u8 bus, u8 devfn) {
    return pci::pci_owner(pci::Bdf{bus, static_cast<u8>(devfn >> 3), static_cast<u8>(devfn & 7)}, pci::kAllParts) !=
           nullptr;
}

}  // namespace

bool vtd_monitor_prepare() {
    u32 len = 0;
    if (!acpi_copy_table("DMAR", g_dmar, sizeof g_dmar, &len)) return false;
    if (acpi_hide_table("DMAR", "TVDM")) log("iommu: the DMAR table is renamed TVDM: the guest sees no IOMMU");
    if (DmarError const e = dmar_parse(g_dmar, len, &g_info); e != DmarError::None) {
        log("iommu: DMAR table refused (%s): the bus-master policy applies", dmar_error_name(e));
        return true;
    }
    bool all = true;
    for (u32 i = 0; i < g_info.unit_count; ++i) all = take_unit(g_info.units[i], &g_caps[i]) && all;
    g_usable = all;
    if (!g_usable) log("iommu: VT-d not used (a unit cannot be used): the bus-master policy applies");
    return true;
}

bool vtd_monitor_guards(u8 bus, u8 dev, u8 fn) {
    return g_usable && dmar_covers(g_info, bus, dev, fn, bridge_buses, nullptr);
}

Status vtd_monitor_enable(PageSource& ps, u64 top) {
    if (!g_usable) return Status::Ok;
    MonitorRegion const& r = monitor_region();
    Hpa guarded{}, full{}, root{};
    if (Status s = build_identity(ps, g_levels, top, r.base, r.size, &guarded); !ok(s)) return s;
    if (Status s = build_identity(ps, g_levels, top, 0, 0, &full); !ok(s)) return s;
    if (Status s = build_root(ps, g_levels, guarded, full, mediated, nullptr, &root); !ok(s)) return s;
    u64 out = 0;
    bool w = false;
    if (translate(ps, root, 0xFF, 0xFF, r.base, &out, &w)) {  // a function no mediator has: must be fenced
        log("iommu: self-check failed: the monitor's region is mapped for unmediated devices");
        return Status::Invalid;
    }
    for (u32 i = 0; i < g_info.reserved_count; ++i)  // a device's RMRR in the region will fault: say so
        if (g_info.reserved[i].base < r.base + r.size && r.base <= g_info.reserved[i].limit)
            log("iommu: firmware-reserved DMA range %#llx-%#llx overlaps the monitor's region: left unmapped",
                static_cast<unsigned long long>(g_info.reserved[i].base),
                static_cast<unsigned long long>(g_info.reserved[i].limit));
    bool coherent = true;
    for (u32 i = 0; i < g_info.unit_count; ++i) coherent = coherent && g_caps[i].coherent;
    if (!coherent) asm volatile("wbinvd" ::: "memory");  // the units read the tables from memory
    for (u32 i = 0; i < g_info.unit_count; ++i) {
        DirectRegisters regs{g_info.units[i].reg_base};
        if (Status s = vtd_enable(regs, g_caps[i], root.raw); !ok(s)) {
            log("iommu: VT-d unit at %#llx did not turn translation on", static_cast<unsigned long long>(g_info.units[i].reg_base));
            return s;
        }
    }
    log("iommu: VT-d translation on in %u unit(s), %u-level tables up to %#llx: the devices they cover cannot reach the "
        "monitor's region %#llx-%#llx", g_info.unit_count, g_levels,
        static_cast<unsigned long long>(top), static_cast<unsigned long long>(r.base),
        static_cast<unsigned long long>(r.base + r.size - 1));
    return Status::Ok;
}

}  // namespace tv::iommu
