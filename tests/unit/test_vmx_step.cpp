// The TF single step's external-interrupt exits (core/arch/x86/vmx/vmx_step.hpp): a step the
// guest starts with interrupts masked must complete even while a physical interrupt waits.
#include <gtest/gtest.h>

#include "core/arch/x86/vmx/vmx_step.hpp"

using namespace tv;
using namespace tv::vmx;

namespace {

constexpr u64 kIf = x86::kRflagsIf;
constexpr u32 kSti = 1, kMovSs = 2;

TEST(VmxStep, ExitsOnInterruptsOnlyWhenTheGuestCouldTakeOneBeforeTheInstruction) {
    EXPECT_TRUE(step_needs_interrupt_exits(kIf | 0x2, 0));
    EXPECT_FALSE(step_needs_interrupt_exits(0x2, 0));          // IF clear: nothing is delivered
    EXPECT_FALSE(step_needs_interrupt_exits(kIf | 0x2, kSti));  // the STI shadow holds it
    EXPECT_FALSE(step_needs_interrupt_exits(kIf | 0x2, kMovSs));
    EXPECT_TRUE(step_needs_interrupt_exits(kIf | 0x2, kBlockingNmi));  // NMI blocking does not hold it
}

// One faulting instruction retried as the core does it (hidden_memory.cpp, dispatch.cpp): a
// fault starts a step; an entry with interrupt exits on and an interrupt pending exits before
// the instruction and cancels the step; an entry without them delivers the interrupt if the
// guest's IF allows (its handler runs and returns to the instruction), else the step completes.
// Returns the entries until the step completed, or 0 if it never did within `limit`.
int entries_until_the_step_completes(u64 rflags, int interrupts, int limit) {
    for (int entry = 1; entry <= limit; ++entry) {
        bool const exits = step_needs_interrupt_exits(rflags, 0);
        if (interrupts > 0 && exits) {
            // cancelled: the next entry runs without exits, the guest takes the interrupt if it
            // can, and the instruction faults again
            if (rflags & kIf) --interrupts;
            continue;
        }
        return entry;
    }
    return 0;
}

TEST(VmxStep, AStepWithInterruptsMaskedCompletesWhileAnInterruptWaits) {
    // The exits on regardless of IF would cancel every retry here: the guest never takes the
    // interrupt, and it stays pending (VM exits ignore RFLAGS.IF).
    EXPECT_EQ(entries_until_the_step_completes(0x2, 1, 1000), 1);
}

TEST(VmxStep, EachCancelledStepCostsTheGuestOneOfItsInterrupts) {
    EXPECT_EQ(entries_until_the_step_completes(kIf | 0x2, 0, 1000), 1);
    EXPECT_EQ(entries_until_the_step_completes(kIf | 0x2, 3, 1000), 4);
}

}  // namespace
