#include "drivers/usb/host/uhci_host_td.hpp"

namespace tv::usb::host {

namespace {

constexpr u32 kCerr3 = 3u << 27;
// 3.2.2 and 3.2.3: lengths are stored minus one in 11 bits, 0x7FF meaning none.
constexpr u32 minus_one(u32 n) { return (n - 1u) & 0x7ffu; }
constexpr u32 actual(u32 status) { return (status + 1u) & 0x7ffu; }
constexpr u32 asked(u32 token) { return ((token >> 21) + 1u) & 0x7ffu; }

}  // namespace

u32 uhci_fill_stage(UhciTd* td, u32 td_phys, u32 cap, UhciPid pid, u8 addr, u8 ep, bool low_speed, u32 phys,
                    u32 len, u16 mps, bool& toggle) {
    if (mps == 0)
        return 0;
    u32 const count = len == 0 ? 1 : (len + mps - 1u) / mps;
    if (count > cap)
        return 0;
    for (u32 i = 0; i < count; ++i) {
        u32 const n = len == 0 ? 0 : (len - i * mps < mps ? len - i * mps : mps);
        UhciTd& t = td[i];
        t = UhciTd{};
        t.link = i + 1 < count ? (td_phys + (i + 1u) * u32{sizeof(UhciTd)}) | kUhciDepthFirst : kUhciTerminate;
        t.status = kUhciActive | kCerr3 | (low_speed ? kUhciLowSpeed : 0) | (pid == UhciPid::In ? kUhciSpd : 0);
        t.token = (minus_one(n) << 21) | (toggle ? 1u << 19 : 0) | (u32{ep & 0xfu} << 15) | (u32{addr & 0x7fu} << 8) |
                  static_cast<u8>(pid);
        t.buffer = n != 0 ? phys + i * mps : 0;
        toggle = !toggle;
    }
    return count;
}

UhciProgress uhci_progress(UhciTd const* td, u32 n, u32& bytes, u32& finished) {
    bytes = 0;
    finished = 0;
    for (u32 i = 0; i < n; ++i) {
        u32 const st = __atomic_load_n(&td[i].status, __ATOMIC_ACQUIRE);
        if (st & kUhciActive)  // retrying a NAK or an error while its C_ERR lasts
            return UhciProgress::Active;
        if (st & (kUhciStalled | kUhciErrors))
            return UhciProgress::Failed;
        u32 const got = actual(st);
        bytes += got;
        ++finished;
        if ((td[i].token & 0xffu) == static_cast<u8>(UhciPid::In) && got < asked(td[i].token))
            return UhciProgress::Short;
    }
    return UhciProgress::Done;
}

}  // namespace tv::usb::host
