// The EHCI mediator in the monitor: every EHCI controller (PCI class 0C:03:20) gets its BAR0
// hooked (following BAR moves) and is driven through drivers/usb/ehci_controller, so that the
// controller runs only the monitor's shadows of the guest's asynchronous and periodic
// schedules. docs/usb.md.
#pragma once

#include "core/device/pci_registry.hpp"

namespace tv::usb {

extern pci::PciDriver const kEhciDriver;

}  // namespace tv::usb
