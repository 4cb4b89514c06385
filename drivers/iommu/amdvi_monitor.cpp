// AMD-Vi in the monitor, as VT-d (vtd_monitor.cpp) and for the same reasons: the IVRS table is
// copied and parsed, then renamed so the guest finds no IOMMU; each unit's registers become an
// MMIO hook that refuses every guest access, and writes to its PCI capability block (where real
// hardware takes its register base) are refused; once the PCI drivers attached, the device
// table and the two identity maps are built and translation turned on (amdvi_tables.hpp has
// the two domains, amdvi_unit.hpp the sequence).
#include "core/acpi.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/mmio_hooks.hpp"
#include "drivers/iommu/amdvi_interrupts.hpp"
#include "drivers/iommu/amdvi_tables.hpp"
#include "drivers/iommu/amdvi_unit.hpp"
#include "drivers/iommu/iommu_units.hpp"
#include "drivers/iommu/ivrs.hpp"
#include "drivers/pci/config_hooks.hpp"
#include "drivers/pci/pci_drivers.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::iommu {

namespace {

constexpr u32 kMaxIvrs = 8192;
constexpr u64 kLoggedRefusals = 8;
constexpr u32 kRingLog2 = 8;        // 256 commands: one page
constexpr u16 kCapabilityBytes = 0x18;  // the IOMMU capability block: header, base address, range, misc
constexpr u32 kMaxMediated = 32;
constexpr u8 kLevels = 4;

class DirectRegisters final : public AmdViRegisters {
  public:
    explicit DirectRegisters(u64 base) : base_(base) {}
    u64 read64(u32 off) override { return *static_cast<u64 volatile*>(phys_to_virt(base_ + off)); }
    void write64(u32 off, u64 v) override { *static_cast<u64 volatile*>(phys_to_virt(base_ + off)) = v; }

  private:
    u64 base_;
};

constinit u8 g_ivrs[kMaxIvrs] = {};
constinit IvrsInfo g_info = {};
constinit AmdViCaps g_caps[IvrsInfo::kMaxUnits] = {};
constinit bool g_usable = false;
constinit u64 g_refused = 0;
constinit Device g_unit_device{"amdvi-registers"};
// The requester IDs of functions a mediator owns (the full domain), collected at enable time.
constinit u16 g_mediated[kMaxMediated] = {};
constinit u32 g_mediated_count = 0;
// Each unit's command ring, kept for the interrupt-table invalidations the guest's MSI and IOAPIC
// programming causes after boot (under g_ring_device).
constinit AmdViRing g_rings[IvrsInfo::kMaxUnits] = {};
constinit Device g_ring_device{"amdvi-commands"};
constexpr u32 kSpins = 1000000;

MmioAction refuse_registers(void*, Vcpu&, Gpa gpa, u8, bool write, u64* value) {
    if (++g_refused <= kLoggedRefusals)
        log("iommu: guest %s of the AMD-Vi unit's register at %#llx refused", write ? "write" : "read",
            static_cast<unsigned long long>(gpa.raw));
    if (!write) *value = ~0ull;  // as if nothing answered there
    return MmioAction::Handled;
}

pci::ConfigAction refuse_capability_write(void*, Vcpu&, pci::Bdf b, u16 reg, u8, bool write, u32*) {
    if (!write) return pci::ConfigAction::PassThrough;
    if (++g_refused <= kLoggedRefusals)
        log("iommu: guest write to the AMD-Vi capability of %02x:%02x.%u at %#x refused", b.bus, b.dev, b.fn, reg);
    return pci::ConfigAction::Handled;
}

// Checks and hides one unit; false (logged) when the monitor cannot use it.
bool take_unit(IvrsUnit const& u, AmdViCaps* caps) {
    DirectRegisters regs{u.reg_base};
    char const* why = "PCI segment other than 0";
    bool const usable = u.segment == 0 && amdvi_caps(regs, caps, &why);
    u64 const bytes = caps->reg_bytes ? caps->reg_bytes : 16u << 10;
    Status const s =
        mmio_hook_register(g_unit_device, Gpa{u.reg_base}, bytes, refuse_registers, nullptr, "amdvi-registers");
    if (!ok(s)) {
        log("iommu: AMD-Vi unit at %#llx: its registers cannot be hidden (status %u)",
            static_cast<unsigned long long>(u.reg_base), static_cast<unsigned>(s));
        return false;
    }
    log("iommu: AMD-Vi unit at %#llx (function %02x:%02x.%u, IVHD type %#x) hidden from the guest: %s",
        static_cast<unsigned long long>(u.reg_base), u.devid >> 8, (u.devid >> 3) & 31, u.devid & 7, u.type,
        usable ? "usable" : why);
    return usable;
}

u16 requester_of(pci::Bdf b) {
    u16 r = 0;
    u16 const id = ivrs_devid(b.bus, b.dev, b.fn);
    return ivrs_covers(g_info, id, &r) ? r : id;
}

void collect_mediated() {
    size_t n = 0;
    pci::Function const* fns = pci::pci_functions(&n);
    g_mediated_count = 0;
    for (size_t i = 0; i < n && g_mediated_count < kMaxMediated; ++i)
        if (pci::pci_owner(fns[i].bdf, pci::kAllParts)) g_mediated[g_mediated_count++] = requester_of(fns[i].bdf);
}

bool full_domain(void*, u16 devid) {
    for (u32 i = 0; i < g_mediated_count; ++i)
        if (g_mediated[i] == devid) return true;
    return false;
}

// A requester ID no mediated function uses: the self-check walks its tables.
u16 unmediated_id() {
    u16 id = 0xFFFF;
    while (full_domain(nullptr, id)) --id;
    return id;
}

Status self_check(PageSource& ps, DeviceTableEntry const* table) {
    MonitorRegion const& r = monitor_region();
    u64 out = 0;
    bool w = false;
    u16 const id = unmediated_id();
    if (amdvi_translate(ps, table, id, r.base, &out, &w) ||
        amdvi_translate(ps, table, id, r.base + r.size - 1, &out, &w)) {
        log("iommu: self-check failed: the monitor's region is mapped for unmediated devices");
        return Status::Invalid;
    }
    if (!amdvi_translate(ps, table, id, 0x100000, &out, &w) || out != 0x100000 || !w) {
        log("iommu: self-check failed: guest memory is not mapped for unmediated devices");
        return Status::Invalid;
    }
    return Status::Ok;
}

// Interrupt remapping (docs/iommu.md, "Interrupt remapping on AMD-Vi"): an INIT message from an
// unmediated ID, a mediated one or the IOAPIC's must be dropped.
Status interrupt_check(DeviceTableEntry const* table, bool filter, u16 ioapic) {
    if (!filter) {
        log("iommu: AMD-Vi interrupt remapping off (no IVRS entry for the IOAPIC): a bus master can still send INIT "
            "by DMA into the interrupt window");
        return Status::Ok;
    }
    u16 const ids[] = {unmediated_id(), g_mediated_count ? g_mediated[0] : unmediated_id(), ioapic};
    for (u16 id : ids) {
        Delivered d{};
        if (amdvi_remap(table[id].q[2], nullptr, 0x0500, &d)) {
            log("iommu: self-check failed: requester %#x can send INIT", id);
            return Status::Invalid;
        }
    }
    log("iommu: AMD-Vi interrupt remapping on for every requester ID, %u remapping table(s) (IOAPIC %#x, functions "
        "with MSI): INIT and SMI messages dropped, fixed ones only as the guest programmed them",
        amdvi_irq_sources(), ioapic);
    return Status::Ok;
}

Status start_unit(IvrsUnit const& u, AmdViCaps const& caps, Hpa device_table, AmdViRing& rg) {
    Hpa const ring = alloc_pages(1), slot = alloc_pages(1);
    if (!ring.raw || !slot.raw) return Status::NoMemory;
    rg = AmdViRing{static_cast<AmdViCommand*>(hpa_virt(ring)), ring.raw, kRingLog2, static_cast<u64*>(hpa_virt(slot)),
                   slot.raw, 0, 0, 0};
    DirectRegisters regs{u.reg_base};
    if (Status s = amdvi_enable(regs, caps, device_table.raw, rg, g_info.ranges, g_info.range_count); !ok(s)) {
        log("iommu: AMD-Vi unit at %#llx did not complete its invalidation: translation state unknown",
            static_cast<unsigned long long>(u.reg_base));
        return s;
    }
    pci::Bdf const b{static_cast<u8>(u.devid >> 8), static_cast<u8>((u.devid >> 3) & 31), static_cast<u8>(u.devid & 7)};
    if (u.cap_offset >= 0x40 && u.cap_offset < 0x100 - kCapabilityBytes)
        if (Status s = pci::pci_config_hook_register(g_unit_device, b, u.cap_offset, kCapabilityBytes,
                                                     refuse_capability_write, nullptr, "amdvi-capability");
            !ok(s))
            log("iommu: the AMD-Vi capability of %02x:%02x.%u is not guarded (status %u)", b.bus, b.dev, b.fn,
                static_cast<unsigned>(s));
    return Status::Ok;
}

}  // namespace

bool amdvi_monitor_prepare() {
    u32 len = 0;
    if (!acpi_copy_table("IVRS", g_ivrs, sizeof g_ivrs, &len)) return false;
    if (acpi_hide_table("IVRS", "TVIV")) log("iommu: the IVRS table is renamed TVIV: the guest sees no IOMMU");
    if (IvrsError const e = ivrs_parse(g_ivrs, len, &g_info); e != IvrsError::None) {
        log("iommu: IVRS table refused (%s): the bus-master policy applies", ivrs_error_name(e));
        return true;
    }
    bool all = true;
    for (u32 i = 0; i < g_info.unit_count; ++i) all = take_unit(g_info.units[i], &g_caps[i]) && all;
    g_usable = all;
    if (!g_usable) log("iommu: AMD-Vi not used (a unit cannot be used): the bus-master policy applies");
    return true;
}

// Asked once every driver attached, so the mediated functions are known.
bool amdvi_monitor_guards(u8 bus, u8 dev, u8 fn) {
    if (!g_usable) return false;
    collect_mediated();
    return ivrs_fences(g_info, ivrs_devid(bus, dev, fn), g_mediated, g_mediated_count);
}

Status amdvi_monitor_enable(PageSource& ps, u64 top) {
    if (!g_usable) return Status::Ok;
    MonitorRegion const& r = monitor_region();
    Hpa guarded{}, full{};
    if (Status s = amdvi_build_identity(ps, kLevels, top, r.base, r.size, &guarded); !ok(s)) return s;
    if (Status s = amdvi_build_identity(ps, kLevels, top, 0, 0, &full); !ok(s)) return s;
    Hpa const dt = alloc_pages(kDeviceTableBytes / kPageSize);
    if (!dt.raw) {
        log("iommu: no room for the AMD-Vi device table (2 MiB)");
        return Status::NoMemory;
    }
    auto* table = static_cast<DeviceTableEntry*>(hpa_virt(dt));
    collect_mediated();
    amdvi_fill_device_table(table, kLevels, guarded, full, full_domain, nullptr, 0);
    bool filter = g_info.ioapic_count != 0;
    u16 ioapic = 0;
    if (filter) {
        Status const s = amdvi_irq_build(table, g_info, requester_of, &ioapic);
        if (s == Status::Unsupported) filter = false;  // logged; the table is as before
        else if (!ok(s)) return s;
    }
    if (Status s = self_check(ps, table); !ok(s)) return s;
    if (Status s = interrupt_check(table, filter, ioapic); !ok(s)) return s;
    for (u32 i = 0; i < g_info.reserved_count; ++i)  // a device's IVMD range in the region will fault: say so
        if (g_info.reserved[i].base < r.base + r.size && r.base <= g_info.reserved[i].limit)
            log("iommu: firmware-reserved DMA range %#llx-%#llx overlaps the monitor's region: left unmapped",
                static_cast<unsigned long long>(g_info.reserved[i].base),
                static_cast<unsigned long long>(g_info.reserved[i].limit));
    asm volatile("wbinvd" ::: "memory");  // the tables are in memory whether or not the unit snoops
    for (u32 i = 0; i < g_info.unit_count; ++i)
        if (Status s = start_unit(g_info.units[i], g_caps[i], dt, g_rings[i]); !ok(s)) return s;
    if (filter) amdvi_irq_started();
    log("iommu: AMD-Vi translation on in %u unit(s), %u-level tables up to %#llx, %u mediated requester ID(s): "
        "the devices they cover cannot reach the monitor's region %#llx-%#llx", g_info.unit_count, kLevels,
        static_cast<unsigned long long>(top), g_mediated_count, static_cast<unsigned long long>(r.base),
        static_cast<unsigned long long>(r.base + r.size - 1));
    return Status::Ok;
}

u16 amdvi_monitor_requester(pci::Bdf b) { return requester_of(b); }

void amdvi_monitor_invalidate_interrupts(u16 devid) {
    DeviceGuard guard(g_ring_device);
    for (u32 i = 0; i < g_info.unit_count; ++i) {
        DirectRegisters regs{g_info.units[i].reg_base};
        Status s = amdvi_submit(regs, g_rings[i], cmd_invalidate_interrupt_table(devid), kSpins);
        if (ok(s)) s = amdvi_sync(regs, g_rings[i], kSpins);
        if (!ok(s))
            log("iommu: AMD-Vi unit at %#llx did not complete an interrupt table invalidation for %#x",
                static_cast<unsigned long long>(g_info.units[i].reg_base), devid);
    }
}

}  // namespace tv::iommu
