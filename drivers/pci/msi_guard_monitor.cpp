// The MSI guard in the monitor: every function found with an MSI capability, mediated or not,
// gets a configuration hook on its data register (drivers/pci/msi_guard.hpp). Refusals are
// logged (the first few per function) and counted at power-off.
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

}  // namespace

Status pci_msi_guard_install() {
    MonitorConfigSpace cs;
    size_t n = 0;
    Function const* fns = pci_functions(&n);
    for (size_t i = 0; i < n; ++i) {
        Bdf const b = fns[i].bdf;
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
