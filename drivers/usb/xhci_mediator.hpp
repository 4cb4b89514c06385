// The xHCI mediator in the monitor: every xHCI controller (PCI class 0C:03:30) gets its BAR0
// hooked (following BAR moves) and is driven through drivers/usb/xhci_controller, so that the
// controller reads only monitor copies of the guest's rings and contexts. docs/usb.md.
#pragma once

#include "core/device/pci_registry.hpp"

namespace tv::usb {

extern pci::PciDriver const kXhciDriver;

}  // namespace tv::usb
