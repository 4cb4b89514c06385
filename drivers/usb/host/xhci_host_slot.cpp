#include "drivers/usb/host/xhci_host_slot.hpp"

namespace tv::usb::host {

void xhci_fill_slot(SlotContext& sl, UsbDevice const& dev, u32 context_entries) {
    sl = SlotContext{};
    sl.dw[0] = (dev.route & 0xfffffu) | (u32{static_cast<u8>(dev.speed)} << 20) | (dev.tt_multi ? 1u << 25 : 0) |
               ((context_entries & 0x1fu) << 27);
    sl.dw[1] = u32{dev.port} << 16;
    sl.dw[2] = u32{dev.tt_hub} | (u32{dev.tt_port} << 8);
}

void xhci_mark_hub(SlotContext& sl, u8 ports, bool multi_tt) {
    sl.dw[0] |= (1u << 26) | (multi_tt ? 1u << 25 : 0);
    sl.dw[1] = (sl.dw[1] & 0x00ffffffu) | (u32{ports} << 24);
}

}  // namespace tv::usb::host
