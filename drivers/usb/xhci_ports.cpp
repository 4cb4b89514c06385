// The root ports as the guest sees them (xhci_controller.hpp). A device the policy denies
// (`[usb] ... deny`) is shown visibly disconnected: once the monitor has learnt its identity
// (the guest's own enumeration, up to its first mass-storage command), its port reads as
// empty with a connect change, and one Port Status Change event tells the guest's driver to
// look, so the guest removes the device as if it had been unplugged. It stays hidden until the
// device really leaves the port (or the controller is reset); the guest never drives it again.
// A port the monitor keeps (keep_port: the card reader under [card] reader = hide) reads the
// same way from the start, with no connect change ever, and stays so for the whole run.
#include "drivers/usb/xhci_controller.hpp"

namespace tv::usb {

namespace {

// PORTSC (xHCI 1.2, 5.4.8)
constexpr u32 kPortCcs = 1u << 0, kPortPed = 1u << 1, kPortPr = 1u << 4, kPortPp = 1u << 9;
constexpr u32 kPortPlsShift = 5, kPortPlsMask = 0xFu << kPortPlsShift, kPlsRxDetect = 5;
constexpr u32 kPortSpeedMask = 0xFu << 10;
constexpr u32 kPortCsc = 1u << 17;
constexpr u32 kPortChanges = 0x7Fu << 17;  // CSC, PEC, WRC, OCC, PRC, PLC, CEC
constexpr u32 kPortStride = 0x10;

}  // namespace

bool XhciController::port_hidden(u32 port) const {
    return port >= 1 && port <= 64 && ((hidden_ports_ | kept_ports_) >> (port - 1) & 1);
}

void XhciController::keep_port(u32 port) {
    if (port >= 1 && port <= ports_ && port <= 64) kept_ports_ |= 1ull << (port - 1);
}

// A port register access, or false when it is not one of a hidden port's PORTSC.
bool XhciController::hidden_port_access(u32 off, u8 size, bool write, u64* value) {
    if (off < op_ + kPortRegs) return false;
    u32 const rel = off - op_ - kPortRegs, port = rel / kPortStride + 1;
    if (port > ports_ || rel % kPortStride >= 4 || !port_hidden(port)) return false;
    u32 const shift = (rel % 4) * 8;
    if (write) {
        u32 const v = static_cast<u32>(*value << shift);
        if (v & kPortCsc) hidden_csc_ &= ~(1ull << (port - 1));
        // Nothing reaches the real port but the change bits the guest acknowledges: a reset
        // would bring the device back to its address state behind the guest's back.
        if (v & kPortChanges) env_->dev_write(off - rel % 4, 4, (env_->dev_read(off - rel % 4, 4) & ~kPortChanges & ~kPortPed) | (v & kPortChanges));
        return true;
    }
    u32 real = static_cast<u32>(env_->dev_read(off - rel % 4, 4));
    u32 shown = (real & ~(kPortCcs | kPortPed | kPortPr | kPortPlsMask | kPortSpeedMask | kPortChanges)) | kPortPp |
                kPlsRxDetect << kPortPlsShift;
    if (hidden_csc_ >> (port - 1) & 1) shown |= kPortCsc;
    u64 const v = u64{shown} >> shift;
    *value = size >= 4 ? v : v & ((1ull << (size * 8)) - 1);
    return true;
}

// After a doorbell of the slot: a device the policy denies disappears from its port.
void XhciController::hide_if_denied(u8 slot) {
    if (!usb_[slot].denied()) return;
    u32 const port = reinterpret_cast<SlotContext const*>(slot_out(slot))->root_port();
    if (port == 0 || port > ports_ || port > 64 || port_hidden(port)) return;
    hidden_ports_ |= 1ull << (port - 1);
    hidden_csc_ |= 1ull << (port - 1);
    env_->note("a denied device's port is shown disconnected to the guest");
    Trb ev{};
    ev.param = u64{port} << 24;
    ev.status = u32{static_cast<u8>(Completion::Success)} << 24;
    set_trb_type(ev, TrbType::PortStatusChange);
    if (!guest_events_.push(env_->guest(), ev)) env_->refused("Port Status Change", "the guest's event ring is full");
}

// The device's own port events: a hidden port's are the guest's again once the device left.
bool XhciController::port_event_hidden(Trb const& ev) {
    u32 const port = static_cast<u32>(ev.param >> 24);
    if (!port_hidden(port)) return false;
    if (kept_ports_ >> (port - 1) & 1) return true;  // a device plugged in later is the monitor's too
    u32 const real = static_cast<u32>(env_->dev_read(op_ + kPortRegs + (port - 1) * kPortStride, 4));
    if (real & kPortCcs) return true;  // still there: the guest hears nothing of it
    hidden_ports_ &= ~(1ull << (port - 1));
    hidden_csc_ &= ~(1ull << (port - 1));
    return false;
}

}  // namespace tv::usb
