// When a TF single step (CPUs without the monitor trap flag: Bochs 2.7) needs external-
// interrupt exits. Pure, so the rule is host-tested (tests/unit/test_vmx_step.cpp).
#pragma once

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/vmx/vmcs.hpp"

namespace tv::vmx {

// The exits exist only to keep an interrupt from being delivered before the stepped
// instruction (it would push TF into a guest frame). With external-interrupt exiting on, a
// pending interrupt exits even while RFLAGS.IF is 0 (SDM 25.3, "blocking by RFLAGS.IF"), and
// the cancelled step's re-entry cannot deliver it either: the guest faults again, steps again
// and exits again, for as long as it keeps IF clear, so the step never completes. A guest that
// cannot take a maskable interrupt at the stepped instruction (IF clear, or an STI/MOV SS
// shadow) needs no exits: nothing can be delivered before the instruction, and the #DB trap
// after it outranks an interrupt that IF set by the instruction would let in. When the exits
// are on, each cancel is followed by the guest taking the pending interrupt, so every retry
// consumes one of the guest's own interrupts.
constexpr bool step_needs_interrupt_exits(u64 rflags, u32 interruptibility) {
    return (rflags & x86::kRflagsIf) && !(interruptibility & kBlockingStiMovSs);
}

}  // namespace tv::vmx
