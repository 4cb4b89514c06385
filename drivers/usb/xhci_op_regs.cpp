// The operational registers and interrupter 0 (xhci_controller.hpp): the guest's pointers are
// kept here, the device is given the monitor's.
#include <string.h>

#include "drivers/usb/xhci_controller.hpp"

namespace tv::usb {

namespace {

u64 merge(u64 old, u32 off_in_reg, u8 size, u64 value) {
    if (size == 8) return value;
    u32 const shift = off_in_reg * 8;
    u64 const mask = (size >= 4 ? 0xFFFFFFFFull : (1ull << (size * 8)) - 1) << shift;
    return (old & ~mask) | ((value << shift) & mask);
}

u64 pick(u64 reg, u32 off_in_reg, u8 size) {
    u64 const v = reg >> (off_in_reg * 8);
    return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
}

// Whether a write of `size` bytes at `off_in_reg` into a 64-bit register completes it: the
// high half last, as Linux (lo_hi_writeq) and the specification's advice have it.
bool completes(u32 off_in_reg, u8 size) { return off_in_reg + size == 8; }

}  // namespace

u64 XhciController::read_op(u32 reg, u8 size) {
    u32 const base = reg & ~7u;
    if (base == kDcbaap) return pick(guest_dcbaap_, reg - base, size);
    if ((reg & ~3u) == kUsbSts) drain_events();
    return env_->dev_read(op_ + reg, size);
}

void XhciController::write_op(u32 reg, u8 size, u64 value) {
    u32 const base = reg & ~7u;
    if (base == kCrcr) {
        guest_crcr_ = merge(guest_crcr_, reg - base, size, value);
        if (reg == kCrcr && (value & (kCrcrCs | kCrcrCa))) {  // stop or abort: the device's own ring
            env_->dev_write(op_ + kCrcr, 4, value & (kCrcrCs | kCrcrCa));
            return;
        }
        if (env_->dev_read(op_ + kCrcr, 4) & kCrcrCrr) return;  // the pointer is ignored while it runs
        command_cursor_ = RingCursor{Gpa{guest_crcr_ & kCrcrPointerMask}, (guest_crcr_ & kCrcrRcs) != 0};
        command_cursor_set_ = true;
        commands_.reset();
        commands_stalled_ = false;
        program_device();
        return;
    }
    if (base == kDcbaap) {
        guest_dcbaap_ = merge(guest_dcbaap_, reg - base, size, value);
        program_device();
        return;
    }
    if (reg == kConfig && size == 4) {
        guest_config_ = static_cast<u32>(value);
        u32 const en = (guest_config_ & 0xFF) < kMaxSlots ? (guest_config_ & 0xFF) : kMaxSlots;
        env_->dev_write(op_ + kConfig, 4, (guest_config_ & ~0xFFu) | en);
        return;
    }
    if (reg == kUsbCmd) {
        if (value & (1u << 7)) env_->refused("USBCMD", "light reset (LHCRST) not offered");
        value &= ~u64{1u << 7};
        env_->dev_write(op_ + kUsbCmd, size, value);
        if (value & kCmdHcrst) {
            reset_state();
            env_->note("guest reset the controller");
        }
        return;
    }
    if (reg < kPortRegs && (reg & ~3u) != kUsbSts && reg != kDnCtrl) {
        env_->refused("operational register", "write to a register the mediator does not offer");
        return;
    }
    env_->dev_write(op_ + reg, size, value);
}

u64 XhciController::read_intr(u32 reg, u8 size) {
    u32 const base = reg & ~7u;
    if (base == kErstBa) return pick(guest_erstba_, reg - base, size);
    if (base == kErdp) {
        u64 const ehb = env_->dev_read(rt_ + kIntr0 + kErdp, 4) & kErdpEhb;
        return pick((guest_erdp_ & ~kErdpEhb) | ehb, reg - base, size);
    }
    if ((reg & ~3u) == kErstSz) return pick(guest_erstsz_, reg & 3, size);
    if ((reg & ~3u) == kIman) drain_events();
    return env_->dev_read(rt_ + kIntr0 + reg, size);
}

void XhciController::write_intr(u32 reg, u8 size, u64 value) {
    u32 const base = reg & ~7u;
    if ((reg & ~3u) == kErstSz) {
        guest_erstsz_ = static_cast<u32>(merge(guest_erstsz_, reg & 3, size, value)) & 0xFFFF;
        return;
    }
    if (base == kErstBa) {
        guest_erstba_ = merge(guest_erstba_, reg - base, size, value);
        if (completes(reg - base, size)) load_guest_erst();
        return;
    }
    if (base == kErdp) {
        guest_erdp_ = merge(guest_erdp_, reg - base, size, value);
        if (completes(reg - base, size)) guest_erdp(guest_erdp_);
        return;
    }
    if (reg >= kErdp + 8) return;  // reserved
    env_->dev_write(rt_ + kIntr0 + reg, size, value);  // IMAN, IMOD
}

// The device gets the monitor's one-segment ring, reset, whenever the guest programs its own.
void XhciController::load_guest_erst() {
    u32 const erst_max = 1u << (hcs_erst_max(hcs2_) < 3 ? hcs_erst_max(hcs2_) : 3);
    if (char const* why = guest_events_.load(env_->guest(), Gpa{guest_erstba_ & ~u64{0x3F}}, guest_erstsz_, erst_max))
        env_->refused("event ring segment table", why);
    else if (!guest_events_.set_dequeue(guest_events_.producer()))
        env_->refused("event ring segment table", "no consumer position");
    event_idx_ = 0;
    event_cycle_ = true;
    memset(event_trbs(), 0, kPageSize);
    u32 const ir = rt_ + kIntr0;
    env_->dev_write(ir + kErstSz, 4, 1);
    env_->dev_write(ir + kErdp, 4, static_cast<u32>(event_dev().raw));
    env_->dev_write(ir + kErdp + 4, 4, event_dev().raw >> 32);
    env_->dev_write(ir + kErstBa, 4, static_cast<u32>(erst_dev().raw));
    env_->dev_write(ir + kErstBa + 4, 4, erst_dev().raw >> 32);
}

void XhciController::guest_erdp(u64 erdp) {
    if (guest_events_.loaded() && !guest_events_.set_dequeue(Gpa{erdp & ~u64{0xF}}))
        env_->refused("ERDP", "dequeue pointer outside the event ring");
    drain_events();
    report_device_erdp((erdp & kErdpEhb) != 0);
}

// The device's dequeue pointer: everything translated is consumed, except that while the guest
// still has unread events one is left pending, so that clearing EHB makes the device interrupt
// again (the guest would otherwise wait for the next event to hear of these).
void XhciController::report_device_erdp(bool clear_ehb) {
    u32 const idx = guest_events_.empty() ? event_idx_ : (event_idx_ + kEventTrbs - 1) % kEventTrbs;
    u64 const v = (event_dev().raw + u64{idx} * kTrbBytes) | (clear_ehb ? kErdpEhb : 0);
    u32 const ir = rt_ + kIntr0;
    env_->dev_write(ir + kErdp, 4, static_cast<u32>(v));
    env_->dev_write(ir + kErdp + 4, 4, v >> 32);
}

}  // namespace tv::usb
