// Intel 8254x (e1000, 82540EM) registers and descriptors the mediator touches, from the
// 8254x Software Developer's Manual. Offsets are bytes into BAR0.
#pragma once

#include "core/types.hpp"

namespace tv::nic::e1000 {

enum class Reg : u32 {
    Ctrl = 0x0000,
    Status = 0x0008,
    Icr = 0x00C0,  // read-to-clear: only the guest ever reads it
    Ics = 0x00C8,
    Ims = 0x00D0,
    Imc = 0x00D8,
    Rctl = 0x0100,
    Tctl = 0x0400,
    Rdbal = 0x2800,
    Rdbah = 0x2804,
    Rdlen = 0x2808,
    Rdh = 0x2810,
    Rdt = 0x2818,
    Tdbal = 0x3800,
    Tdbah = 0x3804,
    Tdlen = 0x3808,
    Tdh = 0x3810,
    Tdt = 0x3818,
    Ral0 = 0x5400,  // RAL(n) = Ral0 + 8n, RAH(n) = Ral0 + 8n + 4
};
constexpr u32 off(Reg r) { return static_cast<u32>(r); }

inline constexpr u32 kBarSize = 0x20000;
inline constexpr u32 kRarCount = 16;
inline constexpr u32 kMonitorRar = 15;  // the monitor's MAC; the guest sees an empty slot
constexpr u32 ral(u32 n) { return off(Reg::Ral0) + 8 * n; }
constexpr u32 rah(u32 n) { return off(Reg::Ral0) + 8 * n + 4; }
inline constexpr u32 kRahValid = 1u << 31;

// The 82542 register aliases the later parts still decode (RDBAL/TDBAL and friends at their
// old offsets) and the second-queue registers of later parts: another way to point the
// device at a ring, so they are refused. So is the old offset of RAR[15] (RA at 0x40), which
// would reach the monitor's MAC.
constexpr bool is_ring_alias(u32 o) {
    return (o >= 0x00B8 && o < 0x00C0) || (o >= 0x0110 && o < 0x0140) || (o >= 0x0420 && o < 0x0440) ||
           (o >= 0x2900 && o < 0x2A00) || (o >= 0x3900 && o < 0x3A00);
}

inline constexpr u32 kCtrlRst = 1u << 26;
inline constexpr u32 kStatusLu = 1u << 1;

inline constexpr u32 kRctlEn = 1u << 1;
inline constexpr u32 kRctlUpe = 1u << 3;  // unicast promiscuous
inline constexpr u32 kRctlLpe = 1u << 5;
inline constexpr u32 kRctlLbmMask = 3u << 6;
inline constexpr u32 kRctlBam = 1u << 15;
inline constexpr u32 kRctlBsizeMask = 3u << 16;
inline constexpr u32 kRctlBsex = 1u << 25;
inline constexpr u32 kRctlSecrc = 1u << 26;

inline constexpr u32 kTctlEn = 1u << 1;
inline constexpr u32 kTctlPsp = 1u << 3;
inline constexpr u32 kTctlCtDefault = 0x0Fu << 4;
inline constexpr u32 kTctlColdFullDuplex = 0x40u << 12;

inline constexpr u32 kIcrTxdw = 1u << 0;
inline constexpr u32 kIcrRxt0 = 1u << 7;

// The guest's receive buffer size from its RCTL (BSIZE, scaled by 16 with BSEX).
constexpr u32 rx_buffer_size(u32 rctl) {
    u32 const bsize = (rctl & kRctlBsizeMask) >> 16;
    if (rctl & kRctlBsex) return bsize == 0 ? 2048 : 16384u >> (bsize - 1);  // 00 is reserved: read as 2048
    return 2048u >> bsize;
}

inline constexpr u32 kDescSize = 16;
inline constexpr u32 kRingAlign = 128;  // RDLEN/TDLEN granularity

struct RxDesc {
    u64 addr;
    u16 length;
    u16 csum;
    u8 status;
    u8 errors;
    u16 special;
};
static_assert(sizeof(RxDesc) == kDescSize);
inline constexpr u8 kRxDd = 1u << 0;
inline constexpr u8 kRxEop = 1u << 1;
inline constexpr u8 kRxIxsm = 1u << 2;  // "ignore checksum indication": no offload result

// Legacy, context and data descriptors share the layout's outline: the command byte and
// DEXT decide which one it is; status is byte 12 in all three.
struct TxDesc {
    u64 addr;    // context descriptor: the IP/TCP checksum fields
    u32 lower;   // legacy: length 15:0, CSO 23:16, CMD 31:24; data/context: length 19:0, DTYP 23:20, DCMD 31:24
    u8 status;
    u8 b13;      // legacy CSS, data POPTS, context HDRLEN
    u16 special;
};
static_assert(sizeof(TxDesc) == kDescSize);
inline constexpr u8 kTxCmdEop = 1u << 0;
inline constexpr u8 kTxCmdIfcs = 1u << 1;
inline constexpr u8 kTxCmdRs = 1u << 3;
inline constexpr u8 kTxCmdRps = 1u << 4;
inline constexpr u8 kTxCmdDext = 1u << 5;
inline constexpr u8 kTxStatDd = 1u << 0;
inline constexpr u8 kTxCmdIc = 1u << 2;   // legacy: insert a checksum (CSS/CSO)
inline constexpr u8 kTxCmdTse = 1u << 2;  // data and context: TCP segmentation
inline constexpr u8 kTxPoptsIxsm = 1u << 0, kTxPoptsTxsm = 1u << 1;  // data: insert IP / TCP-UDP sum
inline constexpr u32 kTxDtypContext = 0, kTxDtypData = 1;
constexpr u8 tx_cmd(TxDesc const& d) { return static_cast<u8>(d.lower >> 24); }
constexpr u32 tx_dtyp(TxDesc const& d) { return (d.lower >> 20) & 0xF; }

}  // namespace tv::nic::e1000
