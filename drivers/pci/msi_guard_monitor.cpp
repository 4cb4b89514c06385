// The MSI guard in the monitor: every function found with an MSI capability, mediated or not,
// gets a configuration hook on its data register, and every MSI-X table an MMIO hook on its
// BAR (drivers/pci/msi_guard.hpp). Refusals are logged (the first few per function) and MSI
// refusals counted at power-off.
#include "core/handlers/power.hpp"
#include "core/log.hpp"
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

MmioAction msix_access(void* ctx, Vcpu&, Gpa gpa, u8 size, bool write, u64* value) {
    auto& g = *static_cast<MsixGate*>(ctx);
    Delivery mode{};
    if (write && strip_msix_delivery(g.table, g.len, gpa.raw - mmio_hook_base(g.hook).raw, size, value, &mode) &&
        ++g.refusals <= kLogged)
        log("pci: %02x:%02x.%u: guest MSI-X entry with %s delivery refused (written as fixed)", g.bdf.bus, g.bdf.dev,
            g.bdf.fn, delivery_name(mode));
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
        g = MsiGate{b, data, 0, log_refusal};
        if (Status s = pci_config_hook_register(g_msi_device, b, data, 2, msi_gate, &g, "msi-guard"); !ok(s)) {
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
