// AHCI 1.3.1 hardware layouts the mediator reads and writes: HBA and port register offsets,
// the command header, the command table, PRDT entries, the FISes and the received-FIS area.
// Every structure here is shared with a DMA engine, so each size is checked.
#pragma once

#include "core/types.hpp"

namespace tv::ata::ahci {

// ---- HBA registers (offsets into the ABAR) ----
inline constexpr u32 kCap = 0x00;
inline constexpr u32 kGhc = 0x04;
inline constexpr u32 kIs = 0x08;
inline constexpr u32 kPi = 0x0C;
inline constexpr u32 kPortBase = 0x100;
inline constexpr u32 kPortStride = 0x80;
inline constexpr u32 kMaxPorts = 32;
inline constexpr u32 kSlots = 32;

inline constexpr u32 kCapFbss = 1u << 16;  // FIS-based switching: a 4 KiB FIS area we do not shadow
inline constexpr u32 kGhcHr = 1u << 0;     // HBA reset

// ---- port registers (offsets into a port's 0x80 block) ----
inline constexpr u32 kPxClb = 0x00;
inline constexpr u32 kPxClbu = 0x04;
inline constexpr u32 kPxFb = 0x08;
inline constexpr u32 kPxFbu = 0x0C;
inline constexpr u32 kPxIs = 0x10;
inline constexpr u32 kPxIe = 0x14;
inline constexpr u32 kPxCmd = 0x18;
inline constexpr u32 kPxTfd = 0x20;
inline constexpr u32 kPxSig = 0x24;
inline constexpr u32 kPxSsts = 0x28;
inline constexpr u32 kPxSctl = 0x2C;
inline constexpr u32 kPxSerr = 0x30;
inline constexpr u32 kPxSact = 0x34;
inline constexpr u32 kPxCi = 0x38;
inline constexpr u32 kPxFbs = 0x40;

// The port register block as the HBA lays it out; the offsets above are checked against it.
struct PortRegisters {
    u32 clb, clbu, fb, fbu, is, ie, cmd, reserved0;
    u32 tfd, sig, ssts, sctl, serr, sact, ci, sntf;
    u32 fbs, devslp, reserved1[10], vendor[4];
};
static_assert(sizeof(PortRegisters) == kPortStride);
static_assert(__builtin_offsetof(PortRegisters, ci) == kPxCi && __builtin_offsetof(PortRegisters, sact) == kPxSact &&
              __builtin_offsetof(PortRegisters, cmd) == kPxCmd && __builtin_offsetof(PortRegisters, fbs) == kPxFbs &&
              __builtin_offsetof(PortRegisters, serr) == kPxSerr && __builtin_offsetof(PortRegisters, tfd) == kPxTfd);

inline constexpr u32 kCmdSt = 1u << 0;
inline constexpr u32 kCmdFre = 1u << 4;

constexpr u32 port_reg(u32 port, u32 reg) { return kPortBase + port * kPortStride + reg; }

// ---- command list: 32 headers of 32 bytes, 1 KiB aligned ----
struct CommandHeader {
    u16 flags;  // CFL 4:0 (FIS length in dwords), A 5, W 6, P 7, R 8, B 9, C 10, PMP 15:12
    u16 prdtl;  // PRDT entries
    u32 prdbc;  // bytes transferred, written by the HBA
    u32 ctba;   // command table, 128-byte aligned
    u32 ctbau;
    u32 reserved[4];
};
static_assert(sizeof(CommandHeader) == 32);
inline constexpr u16 kHdrCflMask = 0x1F;
inline constexpr u16 kHdrAtapi = 1u << 5;
inline constexpr u16 kHdrWrite = 1u << 6;
inline constexpr u16 kHdrPmpShift = 12;
inline constexpr u32 kCommandListBytes = kSlots * sizeof(CommandHeader);

// ---- PRDT entry ----
struct PrdEntry {
    u32 dba;  // bit 0 must be 0 (word aligned)
    u32 dbau;
    u32 reserved;
    u32 dbc;  // byte count - 1 in 21:0 (bit 0 set: even counts), interrupt on completion in 31
};
static_assert(sizeof(PrdEntry) == 16);
inline constexpr u32 kPrdDbcMask = 0x3FFFFF;
inline constexpr u32 kPrdIrq = 1u << 31;
inline constexpr u64 kPrdMaxBytes = 4ull << 20;

// ---- command table: CFIS, ATAPI command, then the PRDT at 0x80 ----
struct CommandTableHead {
    u8 cfis[64];
    u8 acmd[16];
    u8 reserved[48];
};
static_assert(sizeof(CommandTableHead) == 0x80);

// ---- FISes ----
inline constexpr u8 kFisH2d = 0x27;
inline constexpr u8 kFisD2h = 0x34;
inline constexpr u8 kFisSdb = 0xA1;
inline constexpr u8 kFisPioSetup = 0x5F;
inline constexpr u8 kFisH2dCommand = 0x80;  // flags byte: C, a command (not a control) update

struct FisH2d {
    u8 type, flags, command, features_lo;
    u8 lba0, lba1, lba2, device;
    u8 lba3, lba4, lba5, features_hi;
    u8 count_lo, count_hi, icc, control;
    u8 aux[4];
};
static_assert(sizeof(FisH2d) == 20);

struct FisD2h {
    u8 type, flags, status, error;
    u8 lba0, lba1, lba2, device;
    u8 lba3, lba4, lba5, reserved0;
    u8 count_lo, count_hi, reserved1[2];
    u8 reserved2[4];
};
static_assert(sizeof(FisD2h) == 20);

struct FisSdb {
    u8 type, flags, status, error;
    u32 active;  // NCQ tags completed
};
static_assert(sizeof(FisSdb) == 8);

struct FisPioSetup {
    u8 type, flags, status, error;
    u8 lba0, lba1, lba2, device;
    u8 lba3, lba4, lba5, reserved0;
    u8 count_lo, count_hi, reserved1, e_status;
    u16 transfer_count;
    u8 reserved2[2];
};
static_assert(sizeof(FisPioSetup) == 20);

// ---- received-FIS area (without FIS-based switching): 256 bytes, 256-byte aligned ----
struct ReceivedFis {
    u8 dsfis[28];
    u8 pad0[4];
    FisPioSetup psfis;  // 0x20
    u8 pad1[12];
    FisD2h rfis;  // 0x40
    u8 pad2[4];
    FisSdb sdbfis;  // 0x58
    u8 ufis[64];    // 0x60
    u8 reserved[96];
};
static_assert(sizeof(ReceivedFis) == 256);
static_assert(__builtin_offsetof(ReceivedFis, psfis) == 0x20 && __builtin_offsetof(ReceivedFis, rfis) == 0x40 &&
              __builtin_offsetof(ReceivedFis, sdbfis) == 0x58);

}  // namespace tv::ata::ahci
