#include "drivers/usb/host/ehci_host_qh.hpp"

namespace tv::usb::host {

namespace {

constexpr u32 kCerr3 = 3u << 10;  // three retries on transaction errors
constexpr u32 kQhDtc = 1u << 14, kQhControl = 1u << 27, kQhMult1 = 1u << 30;
// Halted with any of: data buffer error, babble, transaction error.
constexpr u32 kQtdErrors = 0x38u;

u32 eps_of(UsbSpeed s) {
    switch (s) {
    case UsbSpeed::Low: return 1;
    case UsbSpeed::High: return 2;
    default: return 0;  // full
    }
}

}  // namespace

RootPort classify_root_port(u32 portsc, bool reset_done) {
    if ((portsc & kPortConnect) == 0)
        return RootPort::Empty;
    if (!reset_done)
        return (portsc & kPortLineMask) == kPortLineK ? RootPort::Companion : RootPort::Reset;
    // 4.2.2: a port that stays disabled after the reset has a full-speed device.
    return (portsc & kPortEnabled) != 0 ? RootPort::Enabled : RootPort::Companion;
}

QhFields qh_fields(u8 addr, u8 ep, UsbSpeed speed, u16 max_packet, bool control, u8 tt_hub, u8 tt_port) {
    bool const split = speed != UsbSpeed::High;
    u32 epchar = (addr & 0x7fu) | (u32{ep & 0xfu} << 8) | (eps_of(speed) << 12) | (u32{max_packet & 0x7ffu} << 16);
    if (control)
        epchar |= kQhDtc | (split ? kQhControl : 0);
    u32 epcap = kQhMult1;
    if (split)
        epcap |= (u32{tt_hub & 0x7fu} << 16) | (u32{tt_port & 0x7fu} << 23);
    return {epchar, epcap};
}

void fill_qtd(Qtd& t, QtdPid pid, u32 phys, u32 len, bool toggle, bool ioc, u32 next, u32 alt) {
    t.next = next;
    t.alt_next = alt;
    t.token = kQtdActive | kCerr3 | (u32{static_cast<u8>(pid)} << 8) | ((len & 0x7fffu) << 16) |
              (ioc ? kQtdIoc : 0) | (toggle ? kQtdToggle : 0);
    t.buffer[0] = phys;
    for (u32 i = 1; i < 5; ++i)
        t.buffer[i] = len != 0 ? (phys & kBufferPageMask) + 4096u * i : 0;
}

u32 build_control(Qtd (&t)[3], u32 t_phys, u32 setup_phys, u32 data_phys, u32 len, bool in) {
    u32 const at1 = t_phys + sizeof(Qtd), at2 = t_phys + 2 * sizeof(Qtd);
    u32 const status = len != 0 ? 2 : 1;
    u32 const status_at = len != 0 ? at2 : at1;
    fill_qtd(t[0], QtdPid::Setup, setup_phys, 8, false, false, at1, kLinkTerminate);
    if (len != 0)  // a short IN packet ends the data stage: on to the status stage
        fill_qtd(t[1], in ? QtdPid::In : QtdPid::Out, data_phys, len, true, false, status_at, status_at);
    fill_qtd(t[status], in && len != 0 ? QtdPid::Out : QtdPid::In, 0, 0, true, true, kLinkTerminate, kLinkTerminate);
    return status;
}

QtdState qtd_state(u32 token) {
    if (token & kQtdHalted)
        return QtdState::Failed;
    if (token & kQtdActive)
        return QtdState::Active;
    return (token & kQtdErrors) != 0 ? QtdState::Failed : QtdState::Done;
}

}  // namespace tv::usb::host
