// One AMD-Vi unit at register level (AMD IOMMU specification 48882, "MMIO Registers"): what its
// extended feature register allows, and the enable sequence: translation off, device table
// base and size, command buffer, no exclusion range, translation and the command buffer on,
// then the caches invalidated by commands, each batch closed by a COMPLETION_WAIT whose store
// the monitor polls for a bounded number of reads. Pure: the registers are reached through
// AmdViRegisters (the direct map in the monitor, a fake in host tests), the command buffer and
// the completion slot through an AmdViRing the caller allocated.
#pragma once

#include "drivers/iommu/amdvi_tables.hpp"
#include "drivers/iommu/ivrs.hpp"

namespace tv::iommu {

class AmdViRegisters {
  public:
    virtual u64 read64(u32 off) = 0;
    virtual void write64(u32 off, u64 value) = 0;

  protected:
    ~AmdViRegisters() = default;
};

// Register offsets.
inline constexpr u32 kAmdDevTab = 0x00, kAmdCmdBase = 0x08, kAmdEvtBase = 0x10, kAmdControl = 0x18,
                     kAmdExclBase = 0x20, kAmdExclLimit = 0x28, kAmdEfr = 0x30, kAmdCmdHead = 0x2000,
                     kAmdCmdTail = 0x2008, kAmdStatus = 0x2020;
// Control register bits: IommuEn, CmdBufEn.
inline constexpr u64 kAmdIommuEn = 1ull << 0, kAmdCmdBufEn = 1ull << 12;
// Extended features: INVALIDATE_IOMMU_ALL supported, performance counters (their registers
// make the register set 512 KiB), host address translation size (bits 11:10: 4 + n levels).
inline constexpr u64 kEfrIaSup = 1ull << 6, kEfrPcSup = 1ull << 9;

struct AmdViCaps {
    bool invalidate_all;  // INVALIDATE_IOMMU_ALL, else per-entry and per-domain invalidation
    u8 max_levels;        // what the unit's host tables may have
    u32 reg_bytes;        // how far the register set reaches
};

// Decodes the extended feature register. False, with *why, when the monitor cannot use the
// unit (host tables of fewer than 4 levels).
[[nodiscard]] bool amdvi_caps(AmdViRegisters& r, AmdViCaps* out, char const** why);

// The command buffer (a power of two of 16-byte entries, at least 256) and an 8-byte slot the
// unit's COMPLETION_WAIT writes; both in memory the guest cannot reach.
struct AmdViRing {
    AmdViCommand* entries;
    u64 entries_hpa;
    u32 count_log2;
    u64* slot;
    u64 slot_hpa;
    u32 tail;     // next entry to write
    u32 pending;  // entries written since the last completed COMPLETION_WAIT
    u64 token;    // the last completion value used
};

// Points the unit at the device table and the ring and turns translation on; then invalidates:
// everything (invalidate_all), or each ID of the `count` ranges at `ids` (the IVRS's) and
// both domains. Unsupported when a completion does not arrive within `spins` reads of the slot.
[[nodiscard]] Status amdvi_enable(AmdViRegisters& r, AmdViCaps const& c, u64 device_table, AmdViRing& ring,
                                  IvrsRange const* ids, u32 count, u32 spins = 1000000);

// Queues `cmd`; when the ring is nearly full, closes the batch and waits for it first.
[[nodiscard]] Status amdvi_submit(AmdViRegisters& r, AmdViRing& ring, AmdViCommand cmd, u32 spins);
// Queues a COMPLETION_WAIT, starts everything queued and waits for the store.
[[nodiscard]] Status amdvi_sync(AmdViRegisters& r, AmdViRing& ring, u32 spins);

}  // namespace tv::iommu
