// Carries out one decoded instruction against a Vcpu: registers and flags change as on the
// CPU, and every memory access goes through an InsnMemory, which the monitor routes to an
// MMIO hook or guest RAM and host tests route to plain buffers. The caller advances RIP.
#pragma once

#include "core/insn/decoder.hpp"
#include "core/vcpu.hpp"

namespace tv::insn {

enum class MemResult : u8 {
    Ok,
    Retry,   // not reachable now (e.g. not mapped in the guest): let the guest run the
             // instruction again, so that the CPU raises whatever fault is due
    Failed,  // cannot be emulated
};

// The memory side of an instruction: `offset` is the effective address (already truncated
// to the address size) within segment `seg`; segmentation and paging are the
// implementation's business.
class InsnMemory {
  public:
    [[nodiscard]] virtual MemResult read(SegReg seg, u64 offset, u8 size, u64* value) = 0;
    [[nodiscard]] virtual MemResult write(SegReg seg, u64 offset, u8 size, u64 value) = 0;

  protected:
    ~InsnMemory() = default;
};

enum class ExecStatus : u8 {
    Done,     // complete: advance RIP by the instruction's length
    Partial,  // a REP string stopped after max_iterations with RCX/RSI/RDI updated: leave
              // RIP, the guest re-executes the rest
    Retry,    // nothing (more) done; leave RIP and let the guest re-execute
    Failed,   // cannot be emulated
};

// Iterations of a REP string done in one exit before the guest gets the CPU back.
inline constexpr u32 kMaxRepIterations = 4096;

[[nodiscard]] ExecStatus execute(Insn const& insn, Vcpu& v, InsnMemory& mem,
                                 u32 max_iterations = kMaxRepIterations);

// The memory operand's offset (base + index * scale + displacement, RIP-relative from the
// end of the instruction), truncated to the address size.
u64 effective_offset(Insn const& insn, Vcpu const& v);

// General-purpose register access with the CPU's width rules: a 32-bit write zero-extends
// to 64 bits, 8- and 16-bit writes keep the other bits; high8 selects AH/CH/DH/BH.
u64 read_gpr(Vcpu const& v, u8 reg, bool high8, u8 size);
void write_gpr(Vcpu& v, u8 reg, bool high8, u8 size, u64 value);

}  // namespace tv::insn
