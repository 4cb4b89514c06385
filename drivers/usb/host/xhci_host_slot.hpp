// The slot context the boot-time xHCI host driver (xhci_host) gives the controller for a
// device (xHCI 1.2, 6.2.2): route string, speed, root port, and for a full/low-speed device
// behind a high-speed hub the hub's slot and port (its transaction translator); a hub's own
// slot also says it is a hub and how many ports it has. Pure; host-tested
// (tests/unit/test_usb_host_enum.cpp).
#pragma once

#include "drivers/usb/host/usb_host.hpp"
#include "drivers/usb/xhci_context.hpp"

namespace tv::usb::host {

void xhci_fill_slot(SlotContext& sl, UsbDevice const& dev, u32 context_entries);
// The Hub, MTT and Number of Ports fields, on a slot context xhci_fill_slot filled.
void xhci_mark_hub(SlotContext& sl, u8 ports, bool multi_tt);

}  // namespace tv::usb::host
