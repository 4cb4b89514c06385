// The e1000 mediator's receive side: the device fills the monitor's buffers; each frame is
// classified by destination and the guest's are copied into the guest's own descriptors.
#include <string.h>

#include "drivers/nic/e1000_mediator.hpp"

namespace tv::nic {

using namespace e1000;

namespace {
constexpr u8 kRxErrRxe = 0x80;  // "RX data error": the guest's driver drops such a frame
}

void E1000Mediator::rx_sync(bool at_icr_read) {
    u64 const guest_before = c_.rx_guest_frames;
    u32 last = kRxSlots;
    for (u32 n = 0; n < kRxSlots; ++n) {
        RxDesc& d = rxr_[rx_next_];
        u8 const status = __atomic_load_n(&d.status, __ATOMIC_ACQUIRE);
        if (!(status & kRxDd)) break;
        RxDesc const hw{d.addr, d.length, d.csum, status, d.errors, d.special};
        u8 const* buf = mem_.virt + kRxBufOff + u64{rx_next_} * kRxBufBytes;
        if (!(status & kRxEop) || rx_discarding_) {
            if (!rx_discarding_) ++c_.rx_multi_desc;
            rx_discarding_ = !(status & kRxEop);
        } else {
            rx_frame(buf, hw.length > kRxBufBytes ? kRxBufBytes : hw.length, hw);
        }
        d = RxDesc{mem_.dev + kRxBufOff + u64{rx_next_} * kRxBufBytes, 0, 0, 0, 0, 0};
        last = rx_next_;
        rx_next_ = rx_next_ + 1 == kRxSlots ? 0 : rx_next_ + 1;
    }
    if (last != kRxSlots) {
        __atomic_thread_fence(__ATOMIC_RELEASE);
        env_->dev_write(off(Reg::Rdt), last);
    }
    // Outside an interrupt the guest may not look at its ring soon: make the device tell it.
    if (!at_icr_read && c_.rx_guest_frames != guest_before) env_->dev_write(off(Reg::Ics), kIcrRxt0);
}

void E1000Mediator::rx_frame(u8 const* buf, u32 len, RxDesc const& hw) {
    if (len < 14) return;
    u32 const fcs = (g_rctl_ & kRctlSecrc) ? 0 : 4;  // the device keeps the CRC unless told
    u32 const mon_len = len >= 14 + fcs ? len - fcs : len;
    MacAddr dst{}, src{};
    memcpy(dst.b, buf, 6);
    memcpy(src.b, buf + 6, 6);
    if (src == mac_) {  // the monitor's own frame come back (a PHY loopback the guest set up)
        ++c_.rx_own_looped;
        return;
    }
    if (dst == mac_) {
        ++c_.rx_monitor_frames;
        deliver(buf, mon_len);
        return;
    }
    if (dst.b[0] & 1) {
        bool const bcast = dst == MacAddr{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};
        ++c_.rx_shared_frames;
        if (!bcast || (g_rctl_ & kRctlBam)) (void)rx_to_guest(buf, len, hw);
        deliver(buf, mon_len);
        return;
    }
    (void)rx_to_guest(buf, len, hw);
}

// Copies one frame into as many guest descriptors as its buffer size needs, as the device
// would, or drops it when the guest cannot take it now.
bool E1000Mediator::rx_to_guest(u8 const* buf, u32 len, RxDesc const& hw) {
    if (!(g_rctl_ & kRctlEn)) {
        ++c_.rx_guest_disabled;
        return false;
    }
    if (!ring_ok(g_rdbal_, g_rdbah_, g_rdlen_, Refusal::RxRing)) return false;
    u64 const base = u64{g_rdbah_} << 32 | g_rdbal_;
    u32 const count = g_rdlen_ / kDescSize, bufsize = rx_buffer_size(g_rctl_);
    if (g_rdh_ >= count || g_rdt_ >= count) {
        refuse(Refusal::BadIndex, g_rdt_);
        return false;
    }
    u32 const need = (len + bufsize - 1) / bufsize;
    u32 const avail = (g_rdt_ + count - g_rdh_) % count;
    if (avail < need) {
        ++c_.rx_guest_ring_full;
        return false;
    }
    for (u32 done = 0; done < len;) {
        u64 const gd = base + u64{g_rdh_} * kDescSize;
        RxDesc g{};
        u32 const chunk = len - done < bufsize ? len - done : bufsize;
        bool const last = done + chunk == len;
        RxDesc out{0, static_cast<u16>(chunk), hw.csum, static_cast<u8>((hw.status & ~(kRxDd | kRxEop)) | kRxDd),
                   last ? hw.errors : u8{0}, hw.special};
        if (!env_->guest_read(gd, &g, sizeof g) || !env_->guest_write(g.addr, buf + done, chunk)) {
            refuse(Refusal::RxBuffer, g.addr);
            out.length = 0;
            out.errors = kRxErrRxe;
        }
        if (last) out.status |= kRxEop;
        // The buffer before the status, as the device orders its own writes.
        __atomic_thread_fence(__ATOMIC_RELEASE);
        if (!env_->guest_write(gd + 8, reinterpret_cast<u8 const*>(&out) + 8, 8)) refuse(Refusal::RxRing, gd);
        g_rdh_ = g_rdh_ + 1 == count ? 0 : g_rdh_ + 1;
        done += chunk;
    }
    ++c_.rx_guest_frames;
    return true;
}

}  // namespace tv::nic
