// What a guest write to a memory BAR that an MMIO hook follows does, decided before the
// device sees it, so that a move the hook cannot follow never reaches the device. Pure.
#pragma once

#include "drivers/pci/pci.hpp"

namespace tv::pci {

struct BarRegs {
    u32 lo, hi;  // the BAR's register(s) as the device holds them (hi: Mem64 only)
};

enum class BarWriteKind : u8 {
    Sizing,   // all address bits of the written half set: answered by the monitor, the device untouched
    Same,     // the base stays: written to the device as it is
    Move,     // a new base: the hook must follow before the device is written
    Unplaced, // base 0: no place a hook can follow to (refused)
};

struct BarWritePlan {
    BarWriteKind kind;
    BarRegs regs;  // what the device is to hold afterwards (Same, Move)
    u64 base;      // the base those registers name
    bool upper;    // the write was to the upper half of a Mem64 BAR
};

// A write of `size` bytes at configuration register `reg` (inside the BAR's 4 or 8 bytes) of
// `value`, with the BAR holding `cur` and sized `bar.size`. The device keeps only the address
// bits its size allows and its own flag bits (3:0), as the plan's registers already do.
BarWritePlan plan_bar_write(Bar const& bar, BarRegs cur, u64 current_base, u16 reg, u8 size, u32 value);

// What the guest reads back from the BAR's dword at `reg` while it sizes it: the size mask
// with the device's flag bits.
u32 bar_sizing_answer(Bar const& bar, BarRegs cur, u16 reg);

}  // namespace tv::pci
