// AMD-Vi interrupt remapping in the monitor (drivers/iommu/amdvi_interrupts.hpp has the rule):
// a remapping table for the IOAPIC and one for each function with an MSI or MSI-X capability
// (shared by the functions one requester ID covers), an empty table for every other ID. The
// tables start from what the sources hold when translation goes on; after that the IOAPIC guard
// and the MSI guard report each message the guest programs, before the write reaches the source,
// and the entry is written and the unit's cached copy invalidated. Entries are never cleared: a
// stale one delivers a vector the guest once chose to a CPU it chose, nothing the monitor owns.
#include "core/device/ioapic_guard.hpp"
#include "core/device/irq_controllers.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "drivers/iommu/amdvi_interrupts.hpp"
#include "drivers/iommu/iommu.hpp"
#include "drivers/iommu/iommu_units.hpp"
#include "drivers/pci/msi_guard.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::iommu {

namespace {

constexpr u32 kMaxSources = 32;
constexpr u64 kLogged = 8;

// An MSI-X function's messages, one slot per table entry: an entry of its remapping table serves
// every slot with that index (amdvi_irte_union). MSI messages go straight to the table (one
// address: they cannot disagree on the destination).
constexpr u32 kSlots = 2048;

struct Source {
    u16 devid;
    u32* table;
    IrtEntry* slots;  // null for the IOAPIC (its pins: g_rtes)
};

constinit Source g_sources[kMaxSources] = {};
constinit u32 g_count = 0;
constinit bool g_on = false;
constinit u16 g_ioapic = 0;
constinit u64 g_unmapped = 0;
constinit Device g_irt_device{"amdvi-interrupts"};
// The IOAPIC's redirection entries as the guest left them: an entry of the IOAPIC's table may
// serve several pins (amdvi_irte_for_ioapic_pins).
constexpr u32 kMaxPins = 240;
constinit u64 g_rtes[kMaxPins] = {};
constinit u32 g_pins = 0;

class MonitorConfigSpace final : public pci::ConfigSpace {
  public:
    u32 read32(pci::Bdf b, u16 reg) override { return pci::pci_config_read(b, reg, 4); }
    void write32(pci::Bdf b, u16 reg, u32 value) override { pci::pci_config_write(b, reg, 4, value); }
};

u32* new_table(Hpa* at) {
    *at = alloc_pages(kIrtBytes / kPageSize);
    if (!at->raw) return nullptr;
    auto* t = static_cast<u32*>(hpa_virt(*at));
    for (u32 i = 0; i < kIrtEntries; ++i) t[i] = 0;
    return t;
}

Source* source(u16 devid) {
    for (u32 i = 0; i < g_count; ++i)
        if (g_sources[i].devid == devid) return &g_sources[i];
    return nullptr;
}

// Gives devid a table of its own (or the one its ID already has); false when none is left.
bool add_source(DeviceTableEntry* dt, u16 devid) {
    if (source(devid)) return true;
    Hpa at{};
    u32* t = g_count < kMaxSources ? new_table(&at) : nullptr;
    if (!t) return false;
    IrtEntry* slots = nullptr;
    if (devid != g_ioapic) {
        Hpa const sp = alloc_pages(align_up(kSlots * sizeof(IrtEntry), kPageSize) / kPageSize);
        if (!sp.raw) return false;
        slots = static_cast<IrtEntry*>(hpa_virt(sp));
        for (u32 i = 0; i < kSlots; ++i) slots[i] = IrtEntry{};
    }
    g_sources[g_count++] = Source{devid, t, slots};
    dt[devid].q[2] = amdvi_dte_interrupts(at.raw);
    return true;
}

void put(u16 devid, IrtEntry e) {
    Source* s = source(devid);
    if (!s) return;
    if (s->table[e.index] == e.value) return;
    s->table[e.index] = e.value;
    if (g_on) amdvi_monitor_invalidate_interrupts(devid);
}

// Slot `slot` of s now needs `e` (value 0: nothing): the entries of its old and new index are
// made again from every slot.
void set_slot(Source& s, u32 slot, IrtEntry e) {
    IrtEntry const old = s.slots[slot];
    s.slots[slot] = e;
    IrtEntry m{};
    if (old.value && (!e.value || old.index != e.index) && amdvi_irte_union(s.slots, kSlots, old.index, &m))
        put(s.devid, m);  // the slots left at the old index (none: the stale entry stays)
    if (e.value && amdvi_irte_union(s.slots, kSlots, e.index, &m)) put(s.devid, m);
}

// The entry message `data` from `address` needs, or none (logged when it is no half-written one).
IrtEntry msi_entry(u16 devid, u64 address, u32 data) {
    IrtEntry e{};
    if (amdvi_irte_for_msi(address, data, &e)) return e;
    if ((address & 0xFFF00000) == 0xFEE00000 && ++g_unmapped <= kLogged)
        log("iommu: requester %#x's MSI %#llx/%#x is no fixed or lowest-priority message: not remapped", devid,
            static_cast<unsigned long long>(address), data);
    return IrtEntry{};
}

// `vectors` messages from `data` on: a multiple-message MSI sets the data's low bits.
void msi_vectors(u16 devid, u64 address, u32 data, u32 vectors) {
    for (u32 k = 0; k < vectors && k < 32; ++k)
        if (IrtEntry const e = msi_entry(devid, address, (data & ~(vectors - 1)) | k); e.value) put(devid, e);
}

// What a function's MSI capability holds now.
void msi_from_config(u16 devid, pci::Bdf b, u16 cap) {
    u32 const control = pci::pci_config_read(b, static_cast<u16>(cap + 2), 2);
    if (!(control & 1)) return;  // MSI off: the guest's write will report it
    u64 address = pci::pci_config_read(b, static_cast<u16>(cap + 4), 4);
    if (control & 0x80) address |= u64{pci::pci_config_read(b, static_cast<u16>(cap + 8), 4)} << 32;
    u32 const data = pci::pci_config_read(b, pci::msi_data_reg(cap, static_cast<u16>(control)), 2);
    msi_vectors(devid, address, data, 1u << ((control >> 4) & 7));
}

// Pin `pin` now holds `rte`: the entries of its old and its new index are made again.
void ioapic_pin(u32 pin, u64 rte) {
    if (pin >= kMaxPins) return;
    if (pin >= g_pins) g_pins = pin + 1;
    IrtEntry before{}, after{};
    bool const had = amdvi_irte_for_ioapic(g_rtes[pin], &before);
    g_rtes[pin] = rte;
    bool const has = amdvi_irte_for_ioapic(rte, &after);
    IrtEntry e{};
    if (had && (!has || before.index != after.index) && amdvi_irte_for_ioapic_pins(g_rtes, g_pins, before.index, &e))
        put(g_ioapic, e);  // the pins left at the old index (none: the stale entry stays)
    if (has && amdvi_irte_for_ioapic_pins(g_rtes, g_pins, after.index, &e)) put(g_ioapic, e);
}

void ioapic_from_hardware() {
    constexpr u64 kBase = ApicControllers::kIoApicBase;
    auto* sel = static_cast<u32 volatile*>(phys_to_virt(kBase));
    auto* win = static_cast<u32 volatile*>(phys_to_virt(kBase + 0x10));
    DeviceGuard guard(g_ioapic_device);  // the guard rewrites the select before each window access
    *sel = 1;
    u32 const pins = ((*win >> 16) & 0xFF) + 1;
    for (u32 pin = 0; pin < pins; ++pin) {
        *sel = 0x10 + 2 * pin;
        u64 rte = *win;
        *sel = 0x11 + 2 * pin;
        rte |= u64{*win} << 32;
        ioapic_pin(pin, rte);
    }
}

// The IVRS special entry of the IOAPIC the guard mediates (at ApicControllers::kIoApicBase): the
// one whose handle is that IOAPIC's ID, or the only IOAPIC listed. False (remapping stays off)
// when none fits or the IVRS listed more special entries than the monitor keeps.
bool guarded_ioapic(IvrsInfo const& info, u16* devid) {
    constexpr u64 kBase = ApicControllers::kIoApicBase;
    u8 id = 0;
    {
        DeviceGuard guard(g_ioapic_device);
        *static_cast<u32 volatile*>(phys_to_virt(kBase)) = 0;
        id = static_cast<u8>((*static_cast<u32 volatile*>(phys_to_virt(kBase + 0x10)) >> 24) & 0x0F);
    }
    if (info.specials_dropped) {
        log("iommu: the IVRS lists more IOAPICs and HPETs than the monitor keeps: interrupt remapping off");
        return false;
    }
    for (u32 i = 0; i < info.special_count; ++i)
        if (info.specials[i].variety == 1 && info.specials[i].handle == id) return *devid = info.specials[i].devid, true;
    if (info.ioapic_count == 1) return *devid = info.ioapic_devid, true;
    log("iommu: no IVRS entry names the IOAPIC with ID %u: interrupt remapping off", id);
    return false;
}

}  // namespace

Status amdvi_irq_build(DeviceTableEntry* dt, IvrsInfo const& info, u16 (*requester)(pci::Bdf), u16* ioapic_out) {
    DeviceGuard guard(g_irt_device);
    u16 ioapic_devid = 0;
    if (!guarded_ioapic(info, &ioapic_devid)) return Status::Unsupported;
    *ioapic_out = ioapic_devid;
    Hpa empty{};
    if (!new_table(&empty)) return Status::NoMemory;
    for (u32 id = 0; id < kDeviceIds; ++id) dt[id].q[2] = amdvi_dte_interrupts(empty.raw);
    g_ioapic = ioapic_devid;
    if (!add_source(dt, ioapic_devid)) return Status::NoMemory;
    ioapic_from_hardware();
    MonitorConfigSpace cs;
    size_t n = 0;
    pci::Function const* fns = pci::pci_functions(&n);
    for (size_t i = 0; i < n; ++i) {
        pci::Bdf const b = fns[i].bdf;
        u16 const msi = pci::find_capability(cs, b, pci::kCapMsi), msix = pci::find_capability(cs, b, pci::kCapMsix);
        if (!msi && !msix) continue;
        u16 const id = requester(b);
        if (msix && !pci::pci_msix_guarded(b)) {  // its MSI-X entries are not seen: leave its messages alone
            dt[id].q[2] = 0;
            log("iommu: %02x:%02x.%u: MSI-X table not guarded: its interrupt messages are not remapped", b.bus, b.dev,
                b.fn);
            continue;
        }
        if (!add_source(dt, id)) {
            log("iommu: no room for %02x:%02x.%u's interrupt remapping table", b.bus, b.dev, b.fn);
            return Status::NoMemory;
        }
        if (msi) msi_from_config(id, b, msi);
    }
    for (u32 i = 0; i < info.special_count; ++i) {  // another IOAPIC, an HPET: no guard reports their messages
        IvrsInfo::Special const& sp = info.specials[i];
        if (sp.devid == ioapic_devid) continue;
        dt[sp.devid].q[2] = 0;
        log("iommu: %s %u (requester %#x) has no guard: its interrupt messages are not remapped",
            sp.variety == 1 ? "IOAPIC" : "HPET", sp.handle, sp.devid);
    }
    return Status::Ok;
}

void amdvi_irq_started() { g_on = true; }

u32 amdvi_irq_sources() { return g_count; }

void amdvi_irq_ioapic(u8 pin, u64 rte) {
    if (!g_count) return;
    DeviceGuard guard(g_irt_device);
    ioapic_pin(pin, rte);
}

void amdvi_irq_msi(u16 devid, u64 address, u32 data, u32 vectors, u32 msix_entry) {
    if (!g_count) return;
    DeviceGuard guard(g_irt_device);
    Source* s = source(devid);
    if (!s || !s->slots) return;  // not remapped (an unguarded MSI-X table) or no unit
    if (msix_entry == kNotMsix) msi_vectors(devid, address, data, vectors);
    else if (msix_entry < kSlots) set_slot(*s, msix_entry, msi_entry(devid, address, data));
}

}  // namespace tv::iommu
