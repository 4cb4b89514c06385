// The bus-master policy in the monitor (drivers/pci/bus_master.hpp): after every driver was
// offered the functions, each function no driver took is either let through by [pci]
// allow_dma (logged with its risk) or has its Bus Master Enable bit cleared now and refused
// from then on by a configuration hook on its command register. The firmware is done with
// its devices by this point on the BIOS path (the monitor starts from multiboot, before the
// guest's boot loader runs); on the UEFI path the firmware keeps running as the guest, so a
// device it boots from that no mediator owns (a virtio disk, say) needs an allow_dma line.
#include "core/config_load.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "drivers/iommu/iommu.hpp"
#include "drivers/pci/bus_master.hpp"
#include "drivers/pci/pci_drivers.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::pci {

namespace {

constexpr size_t kMaxGates = 24;

constinit BusMasterGate g_gates[kMaxGates] = {};
constinit size_t g_gate_count = 0;
// One lock for every gate: the hooks touch nothing but their own counter and the register.
constinit Device g_policy_device{"pci-bus-master-policy"};

void log_refusal(BusMasterGate& g) {
    log("pci: %02x:%02x.%u: guest set Bus Master Enable; refused (no mediator, no IOMMU, no [pci] allow_dma; "
        "%llu refusals)", g.bdf.bus, g.bdf.dev, g.bdf.fn, static_cast<unsigned long long>(g.refusals));
}

void log_counts() {
    for (size_t i = 0; i < g_gate_count; ++i)
        if (u64 const n = __atomic_load_n(&g_gates[i].refusals, __ATOMIC_RELAXED))
            log("pci: %02x:%02x.%u: %llu bus-master enables refused", g_gates[i].bdf.bus, g_gates[i].bdf.dev,
                g_gates[i].bdf.fn, static_cast<unsigned long long>(n));
}

Status gate(Function const& f) {
    if (g_gate_count == kMaxGates) return Status::NoMemory;
    u16 const command = static_cast<u16>(pci_config_read(f.bdf, kRegCommand, 2));
    if (command & kCommandBusMaster) pci_config_write(f.bdf, kRegCommand, 2, command & ~u32{kCommandBusMaster});
    BusMasterGate& g = g_gates[g_gate_count];
    g = BusMasterGate{f.bdf, 0, log_refusal};
    Status const s = pci_config_hook_register(g_policy_device, f.bdf, kRegCommand, 1, bus_master_gate, &g,
                                              "bus-master-policy");
    if (!ok(s)) return s;
    ++g_gate_count;
    log("pci: %02x:%02x.%u %04x:%04x (class %02x%02x) has no mediator: bus mastering refused%s", f.bdf.bus, f.bdf.dev,
        f.bdf.fn, f.vendor, f.device, f.class_code, f.subclass,
        command & kCommandBusMaster ? " (the firmware had enabled it: cleared)" : "");
    return Status::Ok;
}

}  // namespace

Status pci_bus_master_policy_install() {
    Config const* cfg = config();
    size_t n = 0;
    Function const* fns = pci_functions(&n);
    for (size_t i = 0; i < n; ++i) {
        Function const& f = fns[i];
        if (pci_owner(f.bdf, kAllParts) || !bus_master_policed(f)) continue;
        if (iommu::iommu_guards(f.bdf.bus, f.bdf.dev, f.bdf.fn)) {
            log("pci: %02x:%02x.%u %04x:%04x has no mediator and keeps bus mastering: the IOMMU fences its DMA from "
                "the monitor", f.bdf.bus, f.bdf.dev, f.bdf.fn, f.vendor, f.device);
            continue;
        }
        if (cfg && dma_allowed(f, cfg->pci.allow, cfg->pci.allow_count)) {
            log("pci: %02x:%02x.%u %04x:%04x has no mediator and keeps bus mastering ([pci] allow_dma): its DMA "
                "reaches all memory, the monitor's included", f.bdf.bus, f.bdf.dev, f.bdf.fn, f.vendor, f.device);
            continue;
        }
        if (Status s = gate(f); !ok(s)) {
            log("pci: %02x:%02x.%u: bus-master policy not installed (status %u)", f.bdf.bus, f.bdf.dev, f.bdf.fn,
                static_cast<unsigned>(s));
            return s;
        }
    }
    if (g_gate_count && !power_off_log_register(log_counts)) log("pci: bus-master refusal counts not logged at power-off");
    return Status::Ok;
}

}  // namespace tv::pci
