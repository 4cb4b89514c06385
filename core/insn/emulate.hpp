// Emulation of the guest instruction at RIP, in the monitor: fetched through the guest's own
// paging (core/guest_paging), decoded (decoder), carried out (exec) with its memory
// operands routed to MMIO hooks or guest RAM, and RIP advanced by the decoded length. The
// hardware's instruction length is never used: it is undefined for EPT violations and
// absent on SVM without decode assists.
#pragma once

#include "core/vcpu.hpp"

namespace tv::insn {

enum class EmulateResult : u8 {
    Done,    // carried out; RIP is past the instruction
    Again,   // nothing more done: RIP unchanged, the guest re-executes it (a REP string with
             // iterations left, or guest memory the monitor could not reach now, in which case
             // the CPU raises the guest's fault itself)
    Failed,  // cannot be emulated; logged with the instruction bytes, the caller injects #GP
};

EmulateResult emulate_at_rip(Vcpu& v);

// The instruction bytes at CS:RIP (up to 15, into buf) as the guest's own paging finds them;
// 0 when none can be read (a fault the CPU will raise itself, or code outside guest RAM).
size_t fetch_at_rip(Vcpu& v, u8* buf);

}  // namespace tv::insn
