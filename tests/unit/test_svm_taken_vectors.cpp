#include <gtest/gtest.h>

#include "core/arch/x86/svm/svm_intr_take.hpp"

using tv::svm::kNoVector;
using tv::svm::TakenVectors;

TEST(SvmTakenVectors, EmptyQueueGivesNoVector) {
    TakenVectors t;
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.pop_highest(), kNoVector);
}

TEST(SvmTakenVectors, HighestVectorGoesFirstAsTheLocalApicWould) {
    TakenVectors t;
    t.add(0x31);
    t.add(0xEC);
    t.add(0x08);  // an 8259 vector in real mode
    t.add(0xFF);
    EXPECT_EQ(t.pop_highest(), 0xFFu);
    EXPECT_EQ(t.pop_highest(), 0xECu);
    EXPECT_EQ(t.pop_highest(), 0x31u);
    EXPECT_EQ(t.pop_highest(), 0x08u);
    EXPECT_TRUE(t.empty());
}

// What the late-exit diagnosis logs: a look that hands nothing over.
TEST(SvmTakenVectors, HighestLooksWithoutTaking) {
    TakenVectors t;
    EXPECT_EQ(t.highest(), kNoVector);
    t.add(0x31);
    t.add(0xEC);
    EXPECT_EQ(t.highest(), 0xECu);
    EXPECT_EQ(t.pop_highest(), 0xECu);
    EXPECT_EQ(t.highest(), 0x31u);
    EXPECT_FALSE(t.empty());
}

TEST(SvmTakenVectors, SameVectorTwiceIsOneInterruptAndNoVectorIsIgnored) {
    TakenVectors t;
    t.add(0x40);
    t.add(0x40);
    t.add(kNoVector);
    EXPECT_EQ(t.pop_highest(), 0x40u);
    EXPECT_EQ(t.pop_highest(), kNoVector);
}

using tv::svm::interrupted_interrupt_vector;
using tv::svm::plan_virtual_interrupts;
using tv::svm::VirtualInterruptPlan;

namespace {
constexpr tv::u64 kValid = 1ull << 31;
}  // namespace

TEST(SvmInterruptedEvent, AnExternalInterruptCutShortGoesBackToTheTakenQueue) {
    EXPECT_EQ(interrupted_interrupt_vector(kValid | 0xEC), 0xECu);
    EXPECT_EQ(interrupted_interrupt_vector(0xEC), kNoVector);  // not valid: nothing was cut short
}

TEST(SvmInterruptedEvent, QemuReportsAnInterruptCutShortAsAnExceptionAboveVector31) {
    // QEMU TCG writes type 3 with the interrupt's vector; VMRUN refuses to inject that back.
    EXPECT_EQ(interrupted_interrupt_vector(kValid | (3ull << 8) | 0x31), 0x31u);
}

TEST(SvmInterruptedEvent, ExceptionsNmiAndSoftwareInterruptsGoBackThroughEventinj) {
    EXPECT_EQ(interrupted_interrupt_vector(kValid | (3ull << 8) | (1ull << 11) | 14), kNoVector);  // #PF
    EXPECT_EQ(interrupted_interrupt_vector(kValid | (2ull << 8) | 2), kNoVector);                  // NMI
    EXPECT_EQ(interrupted_interrupt_vector(kValid | (4ull << 8) | 0x80), kNoVector);               // INT 0x80
}

TEST(SvmVirtualInterruptPlan, OneTakenVectorWaitsInVirqForTheGuestsWindowWithoutAnExtraExit) {
    TakenVectors q;
    q.add(0x31);
    VirtualInterruptPlan const p = plan_virtual_interrupts(q, false);
    EXPECT_EQ(p.inject, kNoVector);
    EXPECT_EQ(p.virq, 0x31u);
    EXPECT_FALSE(p.window_exit);
    EXPECT_TRUE(q.empty());
}

TEST(SvmVirtualInterruptPlan, AnOpenWindowGetsTheHighestAtOnceAndTheNextInVirq) {
    TakenVectors q;
    q.add(0x31);
    q.add(0xEC);
    VirtualInterruptPlan const p = plan_virtual_interrupts(q, true);
    EXPECT_EQ(p.inject, 0xECu);
    EXPECT_EQ(p.virq, 0x31u);
    EXPECT_FALSE(p.window_exit);  // V_IRQ follows once the guest's handler returns
}

// The stuck case: two vectors taken while the guest's window was shut. The local APIC holds
// both in service; the lower one must not wait for some later exit, since nothing at or below
// its priority can reach the CPU to make one (and an x2APIC EOI or a busy loop makes none).
TEST(SvmVirtualInterruptPlan, ASecondVectorIsNeverLeftWaitingForAnExitTheGuestMayNotMake) {
    TakenVectors q;
    q.add(0xEC);
    q.add(0xF6);
    VirtualInterruptPlan p = plan_virtual_interrupts(q, false);
    EXPECT_EQ(p.virq, 0xF6u);
    EXPECT_TRUE(p.window_exit);  // the window's opening exits instead of delivering 0xF6
    q.add(p.virq);               // ... and the VINTR exit puts the undelivered V_IRQ back
    p = plan_virtual_interrupts(q, true);
    EXPECT_EQ(p.inject, 0xF6u);
    EXPECT_EQ(p.virq, 0xECu);
    EXPECT_FALSE(p.window_exit);
    EXPECT_TRUE(q.empty());
}

TEST(SvmVirtualInterruptPlan, ThreeVectorsAreHandedOverOneWindowAtATime) {
    TakenVectors q;
    for (tv::u32 v : {0x31u, 0x41u, 0xECu}) q.add(v);
    VirtualInterruptPlan p = plan_virtual_interrupts(q, true);
    EXPECT_EQ(p.inject, 0xECu);
    EXPECT_EQ(p.virq, 0x41u);
    EXPECT_TRUE(p.window_exit);
    q.add(p.virq);
    p = plan_virtual_interrupts(q, true);
    EXPECT_EQ(p.inject, 0x41u);
    EXPECT_EQ(p.virq, 0x31u);
    EXPECT_FALSE(p.window_exit);
}

// The hang that made the clock opt-in: the console's vector S sat in V_IRQ while the guest's
// window was shut; as the guest opened it, its timer exited first (a physical interrupt goes
// before a virtual one), and from then on every exit of a guest busy in user space was another
// timer interrupt, taken and handed over before S, highest first. The guest's EOIs do not
// exit (its local APIC is not trapped), S stayed in service, and its console never spoke
// again. S must be handed over at the exit where the timer joins it.
TEST(SvmVirtualInterruptPlan, ALowerVectorIsNotStarvedByAHigherOneTakenAtEveryExit) {
    constexpr tv::u32 kConsole = 0x34, kTimer = 0xEC;
    TakenVectors q;
    q.add(kConsole);
    VirtualInterruptPlan p = plan_virtual_interrupts(q, false);  // the guest's window is shut
    bool console_handed_over = false;
    for (int exit = 0; exit < 8 && !console_handed_over; ++exit) {
        if (p.virq != tv::svm::kNoVector) q.add(p.virq);  // an exit before the guest took V_IRQ
        q.add(kTimer);                                     // the timer interrupt it exited for
        p = plan_virtual_interrupts(q, true);
        // What the guest gets: EVENTINJ now, then V_IRQ once that handler returns, unless the
        // VINTR intercept stops V_IRQ for the next exit.
        console_handed_over = p.inject == kConsole || (p.virq == kConsole && !p.window_exit);
        if (p.virq == kConsole && !p.window_exit) p.virq = tv::svm::kNoVector;  // taken after the timer
    }
    EXPECT_TRUE(console_handed_over);
}

using tv::svm::svm_clock_enabled;

TEST(SvmClockSwitch, OnByDefaultAndOffOnlyForOff) {
    EXPECT_TRUE(svm_clock_enabled(nullptr));  // no svm_clock= on the command line
    EXPECT_TRUE(svm_clock_enabled("on"));
    EXPECT_FALSE(svm_clock_enabled("off"));
    EXPECT_TRUE(svm_clock_enabled("of"));
    EXPECT_TRUE(svm_clock_enabled("offx"));
    EXPECT_TRUE(svm_clock_enabled(""));
}
