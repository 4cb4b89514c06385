// One VT-d remapping hardware unit, at register level (VT-d specification, "Register
// Descriptions"): what its capability registers allow, and the enable sequence (root table
// pointer, write-buffer flush where required, global context-cache and IOTLB invalidation by
// register, then translation on). Every wait is bounded: a unit that does not answer fails
// the step. Pure: the registers are reached through VtdRegisters (the direct map in the
// monitor, a fake in host tests).
#pragma once

#include "core/types.hpp"

namespace tv::iommu {

class VtdRegisters {
  public:
    virtual u32 read32(u32 off) = 0;
    virtual u64 read64(u32 off) = 0;
    virtual void write32(u32 off, u32 value) = 0;
    virtual void write64(u32 off, u64 value) = 0;

  protected:
    ~VtdRegisters() = default;
};

// Register offsets.
inline constexpr u32 kVer = 0x00, kCap = 0x08, kEcap = 0x10, kGcmd = 0x18, kGsts = 0x1C, kRtaddr = 0x20,
                     kCcmd = 0x28;
// Global command / status bits (the same positions in both).
inline constexpr u32 kTe = 1u << 31, kSrtp = 1u << 30, kWbf = 1u << 27, kQie = 1u << 26, kIre = 1u << 25,
                     kCfi = 1u << 23;
inline constexpr u32 kPersistent = kTe | kQie | kIre | kCfi;  // GCMD must repeat these as GSTS has them
// Context command: invalidate, global granularity.
inline constexpr u64 kCcmdIcc = 1ull << 63, kCcmdGlobal = 1ull << 61;
// IOTLB invalidate register (at the extended capability's IRO, + 8): invalidate, global,
// drain reads and writes.
inline constexpr u64 kIotlbIvt = 1ull << 63, kIotlbGlobal = 1ull << 60, kIotlbDr = 1ull << 49, kIotlbDw = 1ull << 48;

struct VtdCaps {
    u8 levels;       // 4 when 48-bit second-level tables are supported, else 3
    bool rwbf;       // the write buffer must be flushed after table changes
    bool coherent;   // page walks snoop the CPU caches (else the tables are flushed first)
    bool caching;    // caching mode: absent entries may be cached too (an emulated unit)
    u32 iotlb_reg;   // offset of the IOTLB invalidate register
    u32 reg_bytes;   // how far the register set reaches (the fault and IOTLB registers included)
};

// Decodes CAP and ECAP. False, with *why, when the monitor cannot use the unit: no 3- or
// 4-level second-level tables, no 2 MiB pages, or queued invalidation left on by the firmware
// (register-based invalidation is then not allowed).
[[nodiscard]] bool vtd_caps(VtdRegisters& r, VtdCaps* out, char const** why);

// Points the unit at `root_table`, invalidates its caches and turns translation on.
// Unsupported when the unit does not acknowledge a step within `spins` reads.
[[nodiscard]] Status vtd_enable(VtdRegisters& r, VtdCaps const& c, u64 root_table, u32 spins = 1000000);

}  // namespace tv::iommu
