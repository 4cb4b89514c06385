// xHCI 1.2 registers (chapter 5) the mediator reads, rewrites or virtualizes: capability
// fields, operational and runtime register offsets and bits, the doorbell layout, extended
// capability IDs. Offsets are from the start of their register space (capability registers
// at BAR0, operational at CAPLENGTH, runtime at RTSOFF, doorbells at DBOFF).
#pragma once

#include "core/types.hpp"

namespace tv::usb {

// ---- capability registers ----
inline constexpr u32 kCapLength = 0x00;  // byte; HCIVERSION in bytes 2-3
inline constexpr u32 kHcsParams1 = 0x04;  // MaxSlots 7:0, MaxIntrs 18:8, MaxPorts 31:24
inline constexpr u32 kHcsParams2 = 0x08;  // IST 3:0, ERST Max 7:4, scratchpads hi 25:21 / lo 31:27
inline constexpr u32 kHcsParams3 = 0x0C;
inline constexpr u32 kHccParams1 = 0x10;  // AC64 0, CSZ 2, MaxPSASize 15:12, xECP 31:16
inline constexpr u32 kDbOff = 0x14;
inline constexpr u32 kRtsOff = 0x18;
inline constexpr u32 kHccParams2 = 0x1C;

inline constexpr u32 kHccCsz = 1u << 2;
inline constexpr u32 kHccMaxPsaMask = 0xFu << 12;

constexpr u32 hcs_max_slots(u32 p1) { return p1 & 0xFF; }
constexpr u32 hcs_max_intrs(u32 p1) { return (p1 >> 8) & 0x7FF; }
constexpr u32 hcs_max_ports(u32 p1) { return p1 >> 24; }
constexpr u32 hcs_erst_max(u32 p2) { return (p2 >> 4) & 0xF; }  // log2 of the entries
constexpr u32 hcs_scratchpads(u32 p2) { return ((p2 >> 21) & 0x1F) << 5 | p2 >> 27; }

// ---- operational registers ----
inline constexpr u32 kUsbCmd = 0x00;
inline constexpr u32 kUsbSts = 0x04;
inline constexpr u32 kPageSizeReg = 0x08;
inline constexpr u32 kDnCtrl = 0x14;
inline constexpr u32 kCrcr = 0x18;  // 64-bit
inline constexpr u32 kDcbaap = 0x30;  // 64-bit
inline constexpr u32 kConfig = 0x38;
inline constexpr u32 kPortRegs = 0x400;  // 0x10 per port

inline constexpr u32 kCmdRun = 1u << 0;
inline constexpr u32 kCmdHcrst = 1u << 1;
inline constexpr u32 kStsHch = 1u << 0;  // halted
inline constexpr u32 kStsCnr = 1u << 11;  // controller not ready
inline constexpr u64 kCrcrRcs = 1u << 0;
inline constexpr u64 kCrcrCs = 1u << 1;
inline constexpr u64 kCrcrCa = 1u << 2;
inline constexpr u64 kCrcrCrr = 1u << 3;
inline constexpr u64 kCrcrPointerMask = ~u64{0x3F};

// ---- runtime registers ----
inline constexpr u32 kMfindex = 0x00;
inline constexpr u32 kIntr0 = 0x20;  // interrupter i at 0x20 + 32 i
inline constexpr u32 kIntrStride = 0x20;
inline constexpr u32 kIman = 0x00;
inline constexpr u32 kImod = 0x04;
inline constexpr u32 kErstSz = 0x08;
inline constexpr u32 kErstBa = 0x10;  // 64-bit
inline constexpr u32 kErdp = 0x18;    // 64-bit
inline constexpr u64 kErdpEhb = 1u << 3;
inline constexpr u64 kErdpDesiMask = 7;

// ---- extended capabilities (xECP list) ----
enum class ExtCap : u8 {
    LegacySupport = 1,
    SupportedProtocol = 2,
    ExtendedPower = 3,
    IoVirtualization = 4,
    MessageInterrupt = 5,
    LocalMemory = 6,
    Debug = 10,
    ExtendedMessageInterrupt = 17,
};

}  // namespace tv::usb
