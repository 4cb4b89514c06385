// The MSI guard in the monitor: every function found with an MSI capability, mediated or not,
// gets a configuration hook on its data register, and every MSI-X table an MMIO hook on its
// BAR (drivers/pci/msi_guard.hpp). Refusals are logged (the first few per function) and MSI
// refusals counted at power-off.
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "drivers/iommu/iommu.hpp"
#include "drivers/pci/msi_guard.hpp"
#include "drivers/pci/pci_drivers.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::pci {

namespace {

constexpr size_t kMaxGates = 16;
constexpr u64 kLogged = 4;

class MonitorConfigSpace final : public ConfigSpace {
  public:
    u32 read32(Bdf b, u16 reg) override { return pci_config_read(b, reg, 4); }
    void write32(Bdf b, u16 reg, u32 value) override { pci_config_write(b, reg, 4, value); }
};

constinit MsiGate g_gates[kMaxGates] = {};
constinit size_t g_count = 0;
constinit Device g_msi_device{"pci-msi-guard"};

void log_refusal(MsiGate& g, Delivery mode) {
    if (g.refusals <= kLogged)
        log("pci: %02x:%02x.%u: guest MSI data with %s delivery refused (written as fixed)", g.bdf.bus, g.bdf.dev,
            g.bdf.fn, delivery_name(mode));
}

void log_counts() {
    for (size_t i = 0; i < g_count; ++i)
        if (g_gates[i].refusals)
            log("pci: %02x:%02x.%u: %llu MSI data writes refused", g_gates[i].bdf.bus, g_gates[i].bdf.dev,
                g_gates[i].bdf.fn, static_cast<unsigned long long>(g_gates[i].refusals));
}

u32 le(u8 const* p, u32 n) {
    u32 v = 0;
    for (u32 i = 0; i < n; ++i) v |= u32{p[i]} << (8 * i);
    return v;
}

// Lays the `size` bytes of `value` written at `at` (relative to the image) over `img`.
void overlay(u8* img, u32 len, i64 at, u8 size, u64 value) {
    for (u8 i = 0; i < size && i < 8; ++i)
        if (at + i >= 0 && at + i < i64{len}) img[at + i] = static_cast<u8>(value >> (8 * i));
}

// The interrupt remapping unit learns the function's MSI as the write will leave it
// (drivers/iommu/iommu.hpp), before the write reaches the device.
void report_msi(MsiGate& g, u16 reg, u8 size, u32 value) {
    if (!iommu::iommu_remaps_interrupts()) return;
    u8 img[0x10] = {};  // control at 2, address at 4 (and 8), data at 8 or 0x0C
    for (u16 off = 0; off < sizeof img; off += 4) {
        u32 const v = pci_config_read(g.bdf, static_cast<u16>(g.cap + off), 4);
        for (u32 i = 0; i < 4; ++i) img[off + i] = static_cast<u8>(v >> (8 * i));
    }
    overlay(img, sizeof img, i64{reg} - g.cap, size, value);
    u32 const control = le(img + 2, 2);
    bool const wide = (control & 0x80) != 0;
    u64 const address = le(img + 4, 4) | (wide ? u64{le(img + 8, 4)} << 32 : 0);
    iommu::iommu_msi_message(g.bdf.bus, g.bdf.dev, g.bdf.fn, address, le(img + (wide ? 0x0C : 8), 2),
                             1u << ((control >> 4) & 7), iommu::kNotMsix);
}

// MSI-X: the BAR holding the table is an MMIO hook (followed when the guest moves it); only
// writes to an entry's delivery-mode byte are changed, everything else passes through.
constexpr size_t kMaxMsix = 8;
constexpr u64 kMaxMsixBar = 64 * 1024;  // larger BARs are left unguarded (logged): every access would exit

struct MsixGate {
    Bdf bdf;
    u64 table, len;  // in the BAR
    MmioHookId hook;
    u64 refusals;
};
constinit MsixGate g_msix[kMaxMsix] = {};
constinit size_t g_msix_count = 0;
constinit Device g_msix_device{"pci-msix-guard"};

// The entry a write to the table changes, as the write will leave it, for the remapping unit.
void report_msix(MsixGate const& g, u64 base, u64 off, u8 size, u64 value) {
    if (!iommu::iommu_remaps_interrupts()) return;
    if (off < g.table || off - g.table >= g.len || (off - g.table) % 16 >= 12) return;  // vector control: no message
    u64 const entry = g.table + (off - g.table) / 16 * 16;
    u8 img[12] = {};
    for (u32 k = 0; k < 3; ++k) {
        u64 v = 0;
        if (!mmio_device_access(Gpa{base + entry + 4 * k}, 4, false, &v)) return;
        for (u32 i = 0; i < 4; ++i) img[4 * k + i] = static_cast<u8>(v >> (8 * i));
    }
    overlay(img, sizeof img, static_cast<i64>(off - entry), size, value);
    iommu::iommu_msi_message(g.bdf.bus, g.bdf.dev, g.bdf.fn, le(img, 4) | u64{le(img + 4, 4)} << 32, le(img + 8, 4), 1,
                             static_cast<u32>((entry - g.table) / 16));
}

MmioAction msix_access(void* ctx, Vcpu&, Gpa gpa, u8 size, bool write, u64* value) {
    auto& g = *static_cast<MsixGate*>(ctx);
    Delivery mode{};
    u64 const base = mmio_hook_base(g.hook).raw, off = gpa.raw - base;
    if (write && strip_msix_delivery(g.table, g.len, off, size, value, &mode) && ++g.refusals <= kLogged)
        log("pci: %02x:%02x.%u: guest MSI-X entry with %s delivery refused (written as fixed)", g.bdf.bus, g.bdf.dev,
            g.bdf.fn, delivery_name(mode));
    if (write) report_msix(g, base, off, size, *value);
    return MmioAction::PassThrough;
}

Status guard_msix(ConfigSpace& cs, Function const& f) {
    u16 const cap = find_capability(cs, f.bdf, kCapMsix);
    if (!cap) return Status::Ok;
    u32 const control = pci_config_read(f.bdf, static_cast<u16>(cap + 2), 2);
    u32 const where = pci_config_read(f.bdf, static_cast<u16>(cap + 4), 4);
    u8 const bir = static_cast<u8>(where & 7);
    Bar const* bar = bir < f.bar_count ? &f.bars[bir] : nullptr;
    if (!bar || (bar->kind != BarKind::Mem32 && bar->kind != BarKind::Mem64) || !bar->base || bar->size > kMaxMsixBar ||
        g_msix_count == kMaxMsix) {
        log("pci: %02x:%02x.%u: MSI-X table in BAR%u not guarded (size %#llx): its entries can ask for any delivery",
            f.bdf.bus, f.bdf.dev, f.bdf.fn, bir, static_cast<unsigned long long>(bar ? bar->size : 0));
        return Status::Ok;
    }
    MsixGate& g = g_msix[g_msix_count];
    g = MsixGate{f.bdf, where & ~u64{7}, ((control & 0x7FF) + 1) * u64{16}, {}, 0};
    Status s = mmio_hook_register(g_msix_device, Gpa{bar->base}, bar->size, msix_access, &g, "msix-guard", &g.hook);
    if (ok(s)) s = pci_bar_follow(f.bdf, bir, g.hook);
    if (!ok(s)) {  // a BAR a mediator already hooks, say: the boot goes on, the table unguarded
        log("pci: %02x:%02x.%u: MSI-X guard on BAR%u not installed (status %u): its entries can ask for any delivery",
            f.bdf.bus, f.bdf.dev, f.bdf.fn, bir, static_cast<unsigned>(s));
        return Status::Ok;
    }
    ++g_msix_count;
    log("pci: %02x:%02x.%u: MSI-X table (%llu entries) in BAR%u guarded", f.bdf.bus, f.bdf.dev, f.bdf.fn,
        static_cast<unsigned long long>(g.len / 16), bir);
    return Status::Ok;
}

}  // namespace

bool pci_msix_guarded(Bdf b) {
    for (size_t i = 0; i < g_msix_count; ++i)
        if (g_msix[i].bdf.bus == b.bus && g_msix[i].bdf.dev == b.dev && g_msix[i].bdf.fn == b.fn) return true;
    return false;
}

Status pci_msi_guard_install() {
    MonitorConfigSpace cs;
    size_t n = 0;
    Function const* fns = pci_functions(&n);
    for (size_t i = 0; i < n; ++i) {
        Bdf const b = fns[i].bdf;
        if (Status s = guard_msix(cs, fns[i]); !ok(s)) return s;
        u16 const cap = find_capability(cs, b, kCapMsi);
        if (!cap) continue;
        if (g_count == kMaxGates) return Status::NoMemory;
        u16 const data = msi_data_reg(cap, static_cast<u16>(pci_config_read(b, static_cast<u16>(cap + 2), 2)));
        MsiGate& g = g_gates[g_count];
        g = MsiGate{b, data, 0, log_refusal, report_msi, cap};
        // Control, address and data: the remapping unit follows all three. Where another hook
        // holds part of that range, the data register alone (the guard's own need).
        Status s = pci_config_hook_register(g_msi_device, b, static_cast<u16>(cap + 2), static_cast<u16>(data - cap),
                                            msi_gate, &g, "msi-guard");
        if (!ok(s)) {
            log("pci: %02x:%02x.%u: MSI control and address not followed (status %u): remapping sees data writes only",
                b.bus, b.dev, b.fn, static_cast<unsigned>(s));
            s = pci_config_hook_register(g_msi_device, b, data, 2, msi_gate, &g, "msi-guard");
        }
        if (!ok(s)) {
            log("pci: %02x:%02x.%u: MSI guard not installed (status %u)", b.bus, b.dev, b.fn, static_cast<unsigned>(s));
            return s;
        }
        ++g_count;
        log("pci: %02x:%02x.%u: MSI data at %#x guarded (no INIT, SMI or reserved delivery)", b.bus, b.dev, b.fn, data);
    }
    if (g_count && !power_off_log_register(log_counts)) log("pci: MSI refusal counts not logged at power-off");
    return Status::Ok;
}

}  // namespace tv::pci
