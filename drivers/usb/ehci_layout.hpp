// EHCI 1.0 data structures as the controller reads them from memory (32-bit layout: the
// mediator only takes controllers without 64-bit addressing, HCCPARAMS bit 0), and the
// operational registers it traps. Section numbers are the EHCI 1.0 specification's.
#pragma once

#include "core/types.hpp"

namespace tv::usb {

// 3.5: queue element transfer descriptor, 32 bytes, 32-byte aligned.
struct Qtd {
    u32 next;       // next qTD pointer (31:5), T (0)
    u32 alt_next;   // alternate next qTD pointer (31:5), T (0)
    u32 token;      // see kQtd* below
    u32 buffer[5];  // page pointers (31:12); buffer[0] 11:0 is the current offset
};
static_assert(sizeof(Qtd) == 32);

// 3.6: queue head, 48 bytes, 32-byte aligned. Words 4..11 are the transfer overlay, a qTD
// the controller works on.
struct Qh {
    u32 hlink;    // horizontal link pointer (31:5), type (2:1), T (0)
    u32 epchar;   // endpoint characteristics: device address, endpoint, H, max packet, ...
    u32 epcap;    // endpoint capabilities: S-mask, C-mask, hub, port, mult
    u32 current;  // current qTD pointer (31:5)
    Qtd overlay;
};
static_assert(sizeof(Qh) == 48);

inline constexpr u32 kEhciAlign = 32;
inline constexpr u32 kLinkTerminate = 1u;
inline constexpr u32 kLinkMask = ~0x1Fu;            // the pointer bits of a link or qTD pointer
inline constexpr u32 kAltNextNakCnt = 0x1Eu;        // 4:1 of the overlay's alternate next: NakCnt
inline constexpr u32 kBufferPageMask = ~0xFFFu;

// 3.1: the type of what a horizontal link points at.
enum class LinkType : u8 { Itd = 0, Qh = 1, Sitd = 2, Fstn = 3 };
constexpr LinkType link_type(u32 link) { return static_cast<LinkType>((link >> 1) & 3); }
constexpr u32 qh_link(u32 addr) { return (addr & kLinkMask) | (u32{static_cast<u8>(LinkType::Qh)} << 1); }

// 3.5.3: the token.
inline constexpr u32 kQtdActive = 1u << 7;
inline constexpr u32 kQtdHalted = 1u << 6;
inline constexpr u32 kQtdStatusMask = 0xFFu;
inline constexpr u32 kQtdIoc = 1u << 15;
inline constexpr u32 kQtdToggle = 1u << 31;
inline constexpr u32 kQtdMaxBytes = 5 * 4096;  // five pages at most (20 KiB at offset 0)

enum class QtdPid : u8 { Out = 0, In = 1, Setup = 2, Reserved = 3 };
constexpr QtdPid qtd_pid(u32 token) { return static_cast<QtdPid>((token >> 8) & 3); }
constexpr u32 qtd_bytes(u32 token) { return (token >> 16) & 0x7FFF; }
constexpr u32 qtd_cpage(u32 token) { return (token >> 12) & 7; }

// 3.6.2: endpoint characteristics.
inline constexpr u32 kQhHead = 1u << 15;  // H: head of the reclamation list

// 2.2 and 2.3: capability and operational registers (offsets into their regions).
inline constexpr u32 kCapLength = 0x00, kHcsParams = 0x04, kHccParams = 0x08;
inline constexpr u32 kHcc64Bit = 1u << 0;
enum class EhciOp : u32 {
    UsbCmd = 0x00,
    UsbSts = 0x04,
    UsbIntr = 0x08,
    FrIndex = 0x0C,
    CtrlDsSegment = 0x10,
    PeriodicListBase = 0x14,
    AsyncListAddr = 0x18,
};
constexpr u32 op(EhciOp r) { return static_cast<u32>(r); }

inline constexpr u32 kCmdRun = 1u << 0, kCmdReset = 1u << 1, kCmdPeriodic = 1u << 4, kCmdAsync = 1u << 5;
inline constexpr u32 kCmdIaaDoorbell = 1u << 6, kCmdLightReset = 1u << 7;
inline constexpr u32 kStsIaa = 1u << 5, kStsHalted = 1u << 12, kStsAsync = 1u << 15;
// 2.3.2, 2.3.3: Port Change Detect and Frame List Rollover, in USBSTS and as USBINTR's enables.
inline constexpr u32 kStsPcd = 1u << 2, kStsFlr = 1u << 3;
// 2.2.3, 2.3.8, 2.3.9: the number of root ports (HCSPARAMS 3:0), CONFIGFLAG, then one PORTSC
// per port (operational offsets).
inline constexpr u32 kHcsPortsMask = 0xF;
inline constexpr u32 kOpPortSc = 0x44;
inline constexpr u32 kPscConnect = 1u << 0, kPscConnectChange = 1u << 1, kPscEnabled = 1u << 2;
inline constexpr u32 kPscEnableChange = 1u << 3, kPscOcChange = 1u << 5, kPscResume = 1u << 6;
inline constexpr u32 kPscSuspend = 1u << 7, kPscReset = 1u << 8, kPscLineStatus = 3u << 10;
inline constexpr u32 kPscChanges = kPscConnectChange | kPscEnableChange | kPscOcChange;  // write 1 to clear

// 3.1: the periodic frame list, 1024 entries of 4 bytes (the largest size, so one page).
inline constexpr u32 kFrameListEntries = 1024;
// 2.2.4, 2.3.1, 2.3.2, 2.3.4: the frame list size (programmable when HCCPARAMS says so), the
// periodic schedule's status, the frame index (micro-frames, 14 bits).
inline constexpr u32 kHccProgFrameList = 1u << 1;
constexpr u32 cmd_frame_list_size(u32 cmd) { return (cmd >> 2) & 3; }
inline constexpr u32 kStsPeriodic = 1u << 14;
inline constexpr u32 kFrIndexMask = 0x3FFF;

}  // namespace tv::usb
