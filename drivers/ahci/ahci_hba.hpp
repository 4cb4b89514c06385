// The AHCI mediator of one controller: routes the guest's ABAR accesses to the port mediators
// and hides what they do not support (FIS-based switching). Pure, like AhciPort.
#pragma once

#include "drivers/ahci/ahci_counts.hpp"
#include "drivers/ahci/ahci_port.hpp"

namespace tv::ata::ahci {

class AhciHba {
  public:
    // Takes over every implemented port (PxPI) that has memory in ports/prds; the rest of the
    // registers pass through.
    void init(AhciEnv* env, BouncePool* pool);
    [[nodiscard]] bool attach_port(u32 index, DmaMem dma, PrdEntry* prds);
    u32 implemented() const { return pi_; }

    // A 32-bit guest access at ABAR offset off.
    [[nodiscard]] u32 read(u32 off);
    void write(u32 off, u32 value);
    // Any size: sub-dword accesses are merged into dword accesses, 8-byte ones split. These
    // are the guest's accesses (one exit each) and are counted by register.
    [[nodiscard]] u64 read_sized(u32 off, u8 size);
    void write_sized(u32 off, u8 size, u64 value);

    void poll_all();
    // Every port quiet (AhciPort::quiet): the guest's reads need not exit.
    [[nodiscard]] bool quiet() const;
    AhciPort& port(u32 i) { return ports_[i]; }
    AccessCounts const& counts() const { return counts_; }

  private:
    AhciEnv* env_{nullptr};
    BouncePool* pool_{nullptr};
    u32 pi_{0};
    AhciPort ports_[kMaxPorts]{};
    AccessCounts counts_{};
};

}  // namespace tv::ata::ahci
