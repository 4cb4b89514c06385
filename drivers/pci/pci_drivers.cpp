// The table of PCI drivers, in attach order. The order is the drivers' dependencies: the
// MMIO pass-through test hooks first (a device they take is not mediated), the NIC next (the
// AoE disk needs its FramePort), the AoE disk before the IDE mediator (it takes the
// primary channel the IDE mediator then leaves alone), then AHCI, then xHCI, then EHCI. This file, not core/, is
// where the mediators' headers meet.
#include "drivers/pci/pci_drivers.hpp"

#include "core/log.hpp"
#include "drivers/ahci/ahci_mediator.hpp"
#include "drivers/aoe_disk/aoe_disk_install.hpp"
#include "drivers/ide/ide_install.hpp"
#include "drivers/nic/nic_mediator.hpp"
#include "drivers/pci/passthrough_test.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "drivers/usb/ehci_mediator.hpp"
#include "drivers/usb/xhci_mediator.hpp"

namespace tv::pci {

namespace {

PciDriver const* const kDrivers[] = {&kPassthroughTestDriver, &nic::kE1000Driver, &ata::kAoeDiskDriver, &ata::kIdeDriver, &ata::kAhciDriver,
                                     &usb::kXhciDriver, &usb::kEhciDriver};
constinit PciRegistry g_registry;

}  // namespace

Status pci_drivers_attach() {
    for (PciDriver const* d : kDrivers)
        if (Status s = g_registry.add(d); !ok(s)) return s;
    size_t n = 0;
    Function const* fns = pci_functions(&n);
    char const* failed = nullptr;
    Status const s = g_registry.attach_all(fns, n, &failed);
    if (!ok(s)) {
        log("pci: driver %s failed (status %u)", failed ? failed : "?", static_cast<unsigned>(s));
        return s;
    }
    if (Status bm = pci_bus_master_policy_install(); !ok(bm)) return bm;
    return pci_msi_guard_install();
}

PciDriver const* pci_owner(Bdf b, u8 part) { return g_registry.owner(b, part); }

}  // namespace tv::pci
