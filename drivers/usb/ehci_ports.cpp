// The root ports as the guest sees them (ehci_controller.hpp, "Root ports"; docs/usb.md, "EHCI").
// A hidden port reads as nothing attached. EHCI raises no interrupt for a change the monitor
// makes up, so the controller's own Frame List Rollover interrupt (every 1024 frames; Linux
// leaves it off) carries it: the guest's handler finds Port Change Detect in USBSTS, reads the
// ports, and its hub driver removes the device. The FLR enable is the monitor's until the guest
// acknowledges the change; the guest reads back only its own USBINTR.
#include "drivers/usb/ehci_controller.hpp"

namespace tv::usb {

namespace {

// What a hidden port shows of the real one: power, owner, indicators, wake and test bits;
// never a device, its speed (line state), its enable, reset, suspend or their changes.
constexpr u32 kPscDevice = kPscConnect | kPscConnectChange | kPscEnabled | kPscEnableChange | kPscOcChange |
                           kPscResume | kPscSuspend | kPscReset | kPscLineStatus;

}  // namespace

// A PORTSC access, or false when off is not one (the guest reaches the register itself).
bool EhciController::port_access(u32 off, u8 size, bool write, u32* value) {
    if (off < op_ + kOpPortSc) return false;
    u32 const rel = off - op_ - kOpPortSc, port = rel / 4 + 1;
    if (port > ports_) return false;
    u32 const bit = 1u << (port - 1), at = op_ + kOpPortSc + (port - 1) * 4;
    if (size != 4 || (rel & 3)) {  // the port's reset must be seen whole (the mass-storage path follows it)
        refuse("PORTSC", "not an aligned 32-bit access");
        if (!write) *value = 0;
        return true;
    }
    if (!port_hidden(port)) {
        if (!write) *value = env_->dev_read(at, 4);
        else {
            if (*value & kPscReset) storage_.root_port_reset(static_cast<u8>(port));
            env_->dev_write(at, 4, *value);
        }
        return true;
    }
    if (write) {  // reaches nothing: the guest may only acknowledge the change it was shown
        if (*value & kPscConnectChange) hidden_csc_ &= ~bit;
        return true;
    }
    u32 const real = env_->dev_read(at, 4);
    // A denied device that left the port (or another one that came) is the guest's again.
    if ((hidden_ & bit) && !(held_ & bit) && (!(real & kPscConnect) || (real & kPscConnectChange))) {
        hidden_ &= ~bit;
        hidden_csc_ &= ~bit;
        env_->note("a denied device left its port: the port is the guest's again");
        *value = real;
        return true;
    }
    *value = (real & ~kPscDevice) | (hidden_csc_ & bit ? kPscConnectChange : 0);
    return true;
}

bool EhciController::hold_port(u32 port) {
    if (port < 1 || port > ports_) return false;
    if (!port_hidden(port)) hide(port, false);
    held_ |= 1u << (port - 1);
    return true;
}

// The port empties for the guest; `disable`: the real port too (a denied device answers no
// packet, and no address the guest gives another device can reach it).
void EhciController::hide(u32 port, bool disable) {
    u32 const bit = 1u << (port - 1), at = op_ + kOpPortSc + (port - 1) * 4;
    u32 const real = env_->dev_read(at, 4);
    if (disable) {
        hidden_ |= bit;
        env_->dev_write(at, 4, real & ~kPscChanges & ~kPscEnabled);
    }
    if (!(real & kPscConnect)) return;  // nothing the guest could have seen
    hidden_csc_ |= bit;
    pcd_pending_ = true;
    if (guest_intr_ & kStsPcd) env_->dev_write(op_ + op(EhciOp::UsbIntr), 4, guest_intr_ | kStsFlr);
}

// After a sync: the ports of devices the policy denied since the last one.
void EhciController::after_sync() {
    u32 const denied = storage_.take_denied_ports();
    for (u32 port = 1; port <= ports_; ++port) {
        if (!(denied >> (port - 1) & 1) || port_hidden(port)) continue;
        hide(port, true);
        env_->note("a denied device's port is shown disconnected to the guest");
    }
}

// The guest wrote USBINTR (its value kept) or acknowledged Port Change Detect in USBSTS.
void EhciController::set_guest_intr(u32 value) {
    guest_intr_ = value;
    bool const carry = pcd_pending_ && (value & kStsPcd);
    env_->dev_write(op_ + op(EhciOp::UsbIntr), 4, value | (carry ? kStsFlr : 0));
}

void EhciController::change_acknowledged() {
    if (!pcd_pending_) return;
    pcd_pending_ = false;
    env_->dev_write(op_ + op(EhciOp::UsbIntr), 4, guest_intr_);
}

// The controller was reset: its ports enumerate anew (a denied device is judged and hidden
// again), its USBINTR is zero. The monitor's own ports stay hidden.
void EhciController::ports_reset() {
    hidden_ = hidden_csc_ = guest_intr_ = 0;
    pcd_pending_ = false;
}

}  // namespace tv::usb
