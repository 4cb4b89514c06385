// Guest accesses to the ABAR by register and direction. Every one of them is a VM exit (an
// MMIO exit, or an I/O exit through the index-data pair), so these counts are the mediator's
// share of the exits-per-MiB figure (docs/ahci.md); the guest reads them with
// `thinvisor-ctl device-counters`, the power-off log shows the totals. Pure.
#pragma once

#include "core/types.hpp"

namespace tv::ata::ahci {

// HBA registers, then the port registers of all ports together (ports are not told apart:
// the breakdown is about which registers the guest's driver touches per command).
enum class RegClass : u8 {
    Cap, Ghc, Is, Pi, HbaOther,
    PxBases,  // PxCLB, PxCLBU, PxFB, PxFBU
    PxIs, PxIe, PxCmd, PxTfd, PxSig, PxSsts, PxSctl, PxSerr, PxSact, PxCi, PxOther,
    kCount
};
inline constexpr u32 kRegClasses = static_cast<u32>(RegClass::kCount);

[[nodiscard]] RegClass reg_class(u32 abar_off);
// Short register name ("is", "px.ci"), at most 10 characters.
[[nodiscard]] char const* reg_class_name(RegClass c);

class AccessCounts {
  public:
    // Relaxed atomics: the ABAR hook and the index-data pair hook hold different locks.
    void count(u32 abar_off, bool write) {
        u64* c = &counts_[static_cast<u32>(reg_class(abar_off))][write ? 1 : 0];
        __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
    }
    [[nodiscard]] u64 get(RegClass c, bool write) const {
        return __atomic_load_n(&counts_[static_cast<u32>(c)][write ? 1 : 0], __ATOMIC_RELAXED);
    }
    [[nodiscard]] u64 total() const;

  private:
    u64 counts_[kRegClasses][2]{};
};

// Counter i of a flat list (class i / 2, reads at even i, writes at odd), named
// "ahci.<register>.<r|w>" into name (at least 17 bytes; at most 16 characters are used, as
// TV_HC_COUNTER carries). False past the end.
[[nodiscard]] bool access_counter_name(u32 i, char* name, u32 size);
inline constexpr u32 kAccessCounters = kRegClasses * 2;

}  // namespace tv::ata::ahci
