// The xHCI mediator's registers (xhci_controller.hpp): which the guest reaches as they are,
// which it sees virtualized, which it writes only to the monitor.
#include "drivers/usb/xhci_controller.hpp"

#include <string.h>

namespace tv::usb {

namespace {

constexpr u32 kExtCapSpan = 0x100;  // how far past its start a capability's registers may reach
constexpr u32 kDoorbells = 256;

u64 pick(u64 reg, u32 off_in_reg, u8 size) {
    u64 const v = reg >> (off_in_reg * 8);
    return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
}

}  // namespace

void XhciController::init(XhciEnv* env, DmaMem dma) {
    env_ = env;
    dma_ = dma;
    memset(dma_.virt, 0, u64{kDmaPages} * kPageSize);
    commands_.init(DmaMem{dma_.virt, dma_.dev});
    for (u32 i = 0; i < kRingPool; ++i) rings_[i].init(ring_page(i), kRingPages);
    op_ = static_cast<u32>(env_->dev_read(kCapLength, 1)) & 0xFF;
    hcs1_ = static_cast<u32>(env_->dev_read(kHcsParams1, 4));
    hcs2_ = static_cast<u32>(env_->dev_read(kHcsParams2, 4));
    hcc1_ = static_cast<u32>(env_->dev_read(kHccParams1, 4));
    db_ = static_cast<u32>(env_->dev_read(kDbOff, 4)) & ~3u;
    rt_ = static_cast<u32>(env_->dev_read(kRtsOff, 4)) & ~0x1Fu;
    ports_ = hcs_max_ports(hcs1_);
    scan_ext_caps();
}

bool XhciController::take_over(Hpa scratchpad_array) {
    scratchpad_array_ = scratchpad_array;
    // Halt, then reset: whatever the firmware left running was never shadowed.
    env_->dev_write(op_ + kUsbCmd, 4, env_->dev_read(op_ + kUsbCmd, 4) & ~u64{kCmdRun});
    for (u32 i = 0; i < 200 && !(env_->dev_read(op_ + kUsbSts, 4) & kStsHch); ++i) env_->delay_us(100);
    env_->dev_write(op_ + kUsbCmd, 4, kCmdHcrst);
    bool ready = false;
    for (u32 i = 0; i < 2000 && !ready; ++i) {
        u64 const cmd = env_->dev_read(op_ + kUsbCmd, 4), sts = env_->dev_read(op_ + kUsbSts, 4);
        ready = !(cmd & kCmdHcrst) && !(sts & kStsCnr);
        if (!ready) env_->delay_us(100);
    }
    reset_state();
    taken_over_ = ready;
    return ready;
}

void XhciController::scan_ext_caps() {
    n_ext_caps_ = 0;
    u32 off = (hcc1_ >> 16) * 4;
    while (off && n_ext_caps_ < kMaxExtCaps) {
        u32 const head = static_cast<u32>(env_->dev_read(off, 4));
        ext_caps_[n_ext_caps_++] = ExtCapAt{off, static_cast<ExtCap>(head & 0xFF)};
        u32 const next = (head >> 8 & 0xFF) * 4;
        if (!next) break;
        off += next;
    }
}

// Only the USB Legacy Support capability (the BIOS/OS ownership hand-off) is writable; the
// others (debug capability, I/O virtualization, local memory) carry DMA pointers of their own.
bool XhciController::ext_cap_writable(u32 off) const {
    for (u32 i = 0; i < n_ext_caps_; ++i) {
        u32 const end = i + 1 < n_ext_caps_ ? ext_caps_[i + 1].off : ext_caps_[i].off + kExtCapSpan;
        if (off >= ext_caps_[i].off && off < end) return ext_caps_[i].id == ExtCap::LegacySupport && off < ext_caps_[i].off + 8;
    }
    return true;  // not a capability: the MSI-X table, vendor registers
}

void XhciController::reset_state() {
    hidden_ports_ = hidden_csc_ = 0;  // the reset ports enumerate anew: a denied device hides again
    guest_crcr_ = guest_dcbaap_ = guest_erstba_ = guest_erdp_ = 0;
    guest_erstsz_ = guest_config_ = 0;
    commands_.reset();
    command_cursor_ = RingCursor{};
    command_cursor_set_ = false;
    for (u32 i = 0; i < kRingPool; ++i) {
        if (ring_slot_[i]) rings_[i].reset();
        ring_slot_[i] = 0;
    }
    for (auto& s : slots_) {
        memset(s.ring, kNoRing, sizeof s.ring);
        for (auto& c : s.cursor) c = RingCursor{};
        s.stalled = 0;
        s.td_refused = 0;
        s.enabled = false;
    }
    for (u8 s = 1; s <= kMaxSlots; ++s) usb_reset(s);
    guest_events_.reset();
    event_idx_ = 0;
    event_cycle_ = true;
    memset(event_trbs(), 0, kPageSize);
    memset(dma_.virt + 2 * kPageSize, 0, kPageSize);  // ERST and DCBAA
    for (u8 s = 1; s <= kMaxSlots; ++s) dcbaa()[s] = slot_out_dev(s).raw;
    dcbaa()[0] = scratchpad_array_.raw;
    auto* erst = reinterpret_cast<ErstEntry*>(dma_.virt + 2 * kPageSize);
    *erst = ErstEntry{event_dev().raw, kEventTrbs, 0};
}

// What the device holds instead of the guest's pointers: written after a reset, before the
// guest can run the controller.
void XhciController::program_device() {
    env_->dev_write(op_ + kDcbaap, 4, static_cast<u32>(dcbaa_dev().raw));
    env_->dev_write(op_ + kDcbaap + 4, 4, dcbaa_dev().raw >> 32);
    u64 const crcr = commands_.producer().raw | (commands_.cycle() ? kCrcrRcs : 0);
    env_->dev_write(op_ + kCrcr, 4, static_cast<u32>(crcr));
    env_->dev_write(op_ + kCrcr + 4, 4, crcr >> 32);
}

TrbLimits XhciController::limits() const {
    TrbLimits l;
    l.interrupters = 1;
    u32 const en = guest_config_ & 0xFF;
    l.max_slots = static_cast<u8>(en < kMaxSlots ? en : kMaxSlots);
    l.input_context_bytes = layout().input_bytes();
    return l;
}

u64 XhciController::read(u32 off, u8 size) {
    if (off < op_) return read_cap(off, size);
    if (off < op_ + kPortRegs) return read_op(off - op_, size);
    if (off >= rt_ + kIntr0 && off < rt_ + kIntr0 + kIntrStride) return read_intr(off - rt_ - kIntr0, size);
    if (off >= db_ && off < db_ + kDoorbells * 4) return 0;
    if (off >= rt_ + kIntr0 && off < rt_ + kIntr0 + hcs_max_intrs(hcs1_) * kIntrStride) return 0;  // not offered
    if (u64 v = 0; hidden_port_access(off, size, false, &v)) return v;
    return env_->dev_read(off, size);  // ports, MFINDEX, extended capabilities, MSI-X
}

void XhciController::write(u32 off, u8 size, u64 value) {
    if (off < op_) {
        if (ext_cap_writable(off) && off >= kHccParams2 + 4) env_->dev_write(off, size, value);
        return;
    }
    if (off < op_ + kPortRegs) return write_op(off - op_, size, value);
    if (off >= rt_ + kIntr0 && off < rt_ + kIntr0 + kIntrStride) return write_intr(off - rt_ - kIntr0, size, value);
    if (off >= db_ && off < db_ + kDoorbells * 4) {
        if (size == 4 && is_aligned(off - db_, 4)) write_doorbell((off - db_) / 4, static_cast<u32>(value));
        else env_->refused("doorbell", "not a 32-bit aligned write");
        return;
    }
    if (off >= rt_ + kIntr0 && off < rt_ + kIntr0 + hcs_max_intrs(hcs1_) * kIntrStride) {
        env_->refused("interrupter", "only interrupter 0 is offered");
        return;
    }
    if (hidden_port_access(off, size, true, &value)) return;
    if (!ext_cap_writable(off)) {
        env_->refused("extended capability", "write to a capability the mediator does not offer");
        return;
    }
    env_->dev_write(off, size, value);
}

// One interrupter, at most kMaxSlots slots, ERST Max 8 segments, no streams.
u64 XhciController::read_cap(u32 off, u8 size) {
    u32 const reg = off & ~3u;
    u64 v = env_->dev_read(reg, 4);
    if (reg == kHcsParams1) {
        u32 const slots = hcs_max_slots(hcs1_) < kMaxSlots ? hcs_max_slots(hcs1_) : kMaxSlots;
        v = (hcs1_ & 0xFF000000u) | 1u << 8 | slots;
    } else if (reg == kHcsParams2) {
        u32 const erst = hcs_erst_max(hcs2_) < 3 ? hcs_erst_max(hcs2_) : 3;
        v = (hcs2_ & ~0xF0u) | erst << 4;
    } else if (reg == kHccParams1) {
        v = hcc1_ & ~kHccMaxPsaMask;
    }
    return pick(size == 8 ? (v | env_->dev_read(reg + 4, 4) << 32) : v, off & 3, size);
}

}  // namespace tv::usb
