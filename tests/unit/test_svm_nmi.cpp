#include <gtest/gtest.h>

#include "core/arch/x86/svm/svm_nmi.hpp"

using tv::svm::NmiBlocking;

namespace {
// One NMI injected at 0x1000: the guest is in its handler.
NmiBlocking in_handler() {
    NmiBlocking n;
    n.request();
    EXPECT_TRUE(n.before_entry(0x1000, true));
    return n;
}
}  // namespace

TEST(SvmNmiBlocking, NothingPendingInjectsNothing) {
    NmiBlocking n;
    EXPECT_FALSE(n.before_entry(0x1000, true));
    EXPECT_FALSE(n.wants_iret_intercept());
    EXPECT_FALSE(n.wants_interrupt_exit());
}

TEST(SvmNmiBlocking, AnNmiIsInjectedOnceAndThenBlocksUntilItsIretIsIntercepted) {
    NmiBlocking n;
    n.request();
    EXPECT_TRUE(n.before_entry(0x1000, true));
    EXPECT_TRUE(n.wants_iret_intercept());
    EXPECT_FALSE(n.before_entry(0x2000, true));  // nothing further pending
}

TEST(SvmNmiBlocking, ASecondNmiWaitsUntilTheHandlersIretHasCompleted) {
    NmiBlocking n = in_handler();
    n.request();  // arrives inside the guest's NMI handler
    EXPECT_FALSE(n.wants_interrupt_exit());      // nothing to gain before the handler's IRET
    EXPECT_FALSE(n.before_entry(0x5000, true));  // still in the handler
    n.iret_exit(0x5010);
    EXPECT_FALSE(n.wants_iret_intercept());
    EXPECT_TRUE(n.wants_interrupt_exit());
    EXPECT_FALSE(n.before_entry(0x5010, true));  // the IRET itself has not run yet
    EXPECT_TRUE(n.before_entry(0x1000, true));   // past it: the second NMI goes in
    EXPECT_TRUE(n.wants_iret_intercept());
    EXPECT_FALSE(n.wants_interrupt_exit());
}

TEST(SvmNmiBlocking, AnIretThatExitsAgainAtTheSameRipStillBlocks) {
    NmiBlocking n = in_handler();
    n.iret_exit(0x5010);
    n.request();
    EXPECT_FALSE(n.before_entry(0x5010, true));  // e.g. a nested page fault on the IRET's stack
    EXPECT_FALSE(n.before_entry(0x5010, true));
    EXPECT_TRUE(n.before_entry(0x1004, true));
}

TEST(SvmNmiBlocking, AnOccupiedEventSlotDelaysTheNmi) {
    NmiBlocking n;
    n.request();
    EXPECT_FALSE(n.before_entry(0x1000, false));  // a reflected exception goes first
    EXPECT_FALSE(n.wants_iret_intercept());
    EXPECT_TRUE(n.before_entry(0x2000, true));
}

TEST(SvmNmiBlocking, RequestsWhileBlockedMergeIntoOne) {
    NmiBlocking n = in_handler();
    n.request();
    n.request();
    n.iret_exit(0x5010);
    EXPECT_TRUE(n.before_entry(0x1000, true));
    n.iret_exit(0x5010);
    EXPECT_FALSE(n.before_entry(0x1000, true));
}

TEST(SvmNmiBlocking, AnIretWithNoNmiInServiceChangesNothing) {
    NmiBlocking n;
    n.iret_exit(0x5010);
    n.request();
    EXPECT_TRUE(n.before_entry(0x5010, true));
}

TEST(SvmNmiBlocking, ResetForgetsEverything) {
    NmiBlocking n = in_handler();
    n.request();
    n.reset();
    EXPECT_FALSE(n.wants_iret_intercept());
    EXPECT_FALSE(n.before_entry(0x1000, true));
}

TEST(SvmNmiBlocking, AnInterruptExitBeforeTheIretRanStopsAskingForThem) {
    NmiBlocking n = in_handler();
    n.iret_exit(0x5010);
    n.request();  // arrives after the IRET exit
    EXPECT_TRUE(n.wants_interrupt_exit());
    n.interrupt_exit();  // an interrupt pending at the IRET: asking again would exit forever
    EXPECT_FALSE(n.before_entry(0x5010, true));
    EXPECT_FALSE(n.wants_interrupt_exit());
    EXPECT_TRUE(n.before_entry(0x1000, true));  // any later exit past the IRET delivers it
}
