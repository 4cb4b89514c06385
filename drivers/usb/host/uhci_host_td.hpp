// The pure half of the boot-time UHCI host driver (uhci_host): its transfer descriptors
// (UHCI 1.1, 3.2), one a packet, chained depth-first under one queue head; how a chain's
// progress reads back. Host-tested (tests/unit/test_usb_host_uhci.cpp).
#pragma once

#include "core/types.hpp"

namespace tv::usb::host {

// 3.2: a TD is 16 bytes for the controller; the driver spaces them 32 bytes apart.
struct UhciTd {
    u32 link;    // next TD or QH (31:4), Vf depth-first (2), Q (1), T (0)
    u32 status;  // control and status: SPD, C_ERR, LS, IOC, status bits, ActLen
    u32 token;   // MaxLen, D, EndPt, device address, PID
    u32 buffer;
    u32 sw[4];  // unused by the controller
};
static_assert(sizeof(UhciTd) == 32);

// 3.3: a queue head, 8 bytes (16-byte aligned).
struct UhciQh {
    u32 head;     // the next QH (31:4), Q (1), T (0)
    u32 element;  // the first TD (31:4), T (0)
};
static_assert(sizeof(UhciQh) == 8);

inline constexpr u32 kUhciTerminate = 1u, kUhciLinkQh = 1u << 1, kUhciDepthFirst = 1u << 2;
// Status bits 22..17 but NAK (19), which a still-active TD shows while the device is busy.
inline constexpr u32 kUhciActive = 1u << 23, kUhciStalled = 1u << 22, kUhciErrors = 0x76u << 16;
inline constexpr u32 kUhciSpd = 1u << 29, kUhciLowSpeed = 1u << 26, kUhciIoc = 1u << 24;
enum class UhciPid : u8 { Setup = 0x2d, In = 0x69, Out = 0xe1 };

// The TDs of one stage: `len` bytes at `phys` in packets of at most `mps`, each linked
// depth-first to the next (the last to kUhciTerminate), the data toggle alternating from
// `toggle` (left at the next packet's); short IN packets stop the chain (SPD). A zero-length
// stage is one TD. Returns how many TDs it wrote, 0 if more than `cap` were needed.
u32 uhci_fill_stage(UhciTd* td, u32 td_phys, u32 cap, UhciPid pid, u8 addr, u8 ep, bool low_speed, u32 phys,
                    u32 len, u16 mps, bool& toggle);

enum class UhciProgress : u8 { Active, Done, Short, Failed };
// Reads td[0..n) in order: Failed at the first TD with an error (a STALL, babble, CRC or
// time-out that used up its retries), Active at the first still active, Short at an IN TD
// that got less than it asked for, Done if all came back whole. `bytes` is what the finished
// TDs moved and `finished` how many TDs finished (for the data toggle).
[[nodiscard]] UhciProgress uhci_progress(UhciTd const* td, u32 n, u32& bytes, u32& finished);

}  // namespace tv::usb::host
