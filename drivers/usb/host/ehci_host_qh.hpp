// The pure half of the boot-time EHCI host driver (ehci_host): the queue heads and qTDs it
// builds in monitor memory (EHCI 1.0 3.5, 3.6), how it reads a finished qTD, and what it does
// with a root port from its PORTSC (4.2.2: a full- or low-speed device goes to the companion
// controller). Host-tested (tests/unit/test_ehci_host.cpp).
#pragma once

#include "drivers/usb/ehci_layout.hpp"
#include "drivers/usb/host/usb_host.hpp"

namespace tv::usb::host {

// 2.3.9: PORTSC bits.
inline constexpr u32 kPortConnect = 1u << 0, kPortConnectChange = 1u << 1, kPortEnabled = 1u << 2,
                     kPortEnableChange = 1u << 3, kPortOcChange = 1u << 5, kPortReset = 1u << 8,
                     kPortPower = 1u << 12, kPortOwner = 1u << 13;
inline constexpr u32 kPortLineMask = 3u << 10, kPortLineK = 1u << 10;  // K-state: a low-speed device
inline constexpr u32 kPortWriteClear = kPortConnectChange | kPortEnableChange | kPortOcChange;

enum class RootPort : u8 {
    Empty,      // nothing connected
    Companion,  // not high speed: hand the port to the companion controller (PORT_OWNER)
    Reset,      // connected, not yet reset: reset it
    Enabled,    // reset and enabled: a high-speed device
};
// Before the reset (reset_done false) and after it.
[[nodiscard]] RootPort classify_root_port(u32 portsc, bool reset_done);

// The QH's endpoint characteristics and capabilities (3.6.2) for endpoint `ep` (its number;
// the direction comes from each qTD's PID) of device `addr`. Control endpoints take their data
// toggle from the qTDs, bulk endpoints keep it in the QH. A full/low-speed device behind a
// high-speed hub gets that hub's address and port for split transactions.
struct QhFields {
    u32 epchar;
    u32 epcap;
};
[[nodiscard]] QhFields qh_fields(u8 addr, u8 ep, UsbSpeed speed, u16 max_packet, bool control, u8 tt_hub,
                                 u8 tt_port);

// A qTD of `len` bytes (at most one page) at buffer `phys`; next and alt are link pointers
// (kLinkTerminate for none).
void fill_qtd(Qtd& t, QtdPid pid, u32 phys, u32 len, bool toggle, bool ioc, u32 next, u32 alt);

// The three (or two) qTDs of a control transfer at t[0..2], whose device address is t_phys:
// SETUP (8 bytes at setup_phys, DATA0), DATA (len bytes at data_phys, DATA1; a short IN
// packet goes on to the status stage), STATUS (the other direction, DATA1, IOC). Returns the
// index of the last qTD.
u32 build_control(Qtd (&t)[3], u32 t_phys, u32 setup_phys, u32 data_phys, u32 len, bool in);

enum class QtdState : u8 { Active, Done, Failed };
// A qTD the controller may still be working on: Failed if halted (babble, transaction or
// buffer errors that used up their retries, a STALL).
[[nodiscard]] QtdState qtd_state(u32 token);
[[nodiscard]] inline u32 qtd_remaining(u32 token) { return qtd_bytes(token); }

// The legacy-support capability's offset in PCI config space from HCCPARAMS (2.2.4 EECP),
// 0 if there is none.
[[nodiscard]] inline u8 eecp_offset(u32 hccparams) {
    u8 const o = static_cast<u8>(hccparams >> 8);
    return o >= 0x40 ? o : 0;
}
// 2.1.7 USBLEGSUP: capability id 1, the BIOS and OS ownership semaphores.
inline constexpr u32 kLegSupId = 1, kLegSupBios = 1u << 16, kLegSupOs = 1u << 24;

}  // namespace tv::usb::host
