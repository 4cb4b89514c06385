// What the BIOS services do for the real-mode stub's caller: the INT 15h memory queries
// answered from the monitor's map, and the carry flag in the caller's stacked FLAGS. Pure
// apart from BiosMemory: host-tested with a fake guest RAM (tests/unit/test_bios_int15.cpp).
//
// Every address here is built from a guest segment base, and "unreal mode" (a real-mode
// segment whose cached base/limit came from protected mode) makes that any address below
// 4 GiB: the monitor's region and device memory included. So each write goes through the one
// guest-memory rule first (BiosMemory::guest_ram); a refused one is logged and not done.
#pragma once

#include "core/memmap.hpp"
#include "core/vcpu.hpp"

namespace tv {

class BiosMemory {
  public:
    // The guest-memory rule: [gpa, gpa + bytes) is guest RAM the monitor may write for it.
    [[nodiscard]] virtual bool guest_ram(u64 gpa, u64 bytes) = 0;
    virtual u8* guest_ptr(u64 gpa) = 0;  // only for a range guest_ram() accepted
    virtual void log(char const* fmt, ...) __attribute__((format(printf, 2, 3))) = 0;

  protected:
    ~BiosMemory() = default;
};

// The INT pushed FLAGS, CS, IP; the stub returns with IRET, so the carry flag the caller sees
// is the one in the stacked FLAGS image at SS:SP+4. False (logged) when that is not guest RAM.
[[nodiscard]] bool bios_set_stacked_carry(Vcpu& v, BiosMemory& mem, bool carry);

// INT 15h AX=E820h: one entry of `map` into ES:DI, registers and carry as the BIOS sets them.
// A buffer outside guest RAM gets AH=86h and carry, and nothing is written.
void bios_e820(Vcpu& v, BiosMemory& mem, MemoryMap const& map);

}  // namespace tv
