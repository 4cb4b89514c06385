// The guest ring walk: what it copies, where it stops, how it follows links and cycle
// toggles, and every way a hostile ring is refused.
#include <gtest/gtest.h>

#include "tests/unit/test_xhci_fake.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

namespace {

struct Walk {
    FakeGuest g;
    RingCursor cur{Gpa{0x1000}, true};
    CopiedTrb out[64]{};
    WalkResult run(u32 max = 64) { return ring_walk(g, &cur, out, max); }
};

}  // namespace

TEST(XhciRing, CopiesProducedTrbsAndStopsAtTheCycleMismatch) {
    Walk w;
    w.g.put(0x1000, TrbType::Normal, true, 0x2000, 512);
    w.g.put(0x1010, TrbType::Normal, true, 0x3000, 512);
    w.g.put(0x1020, TrbType::Normal, false, 0x4000, 512);  // not produced yet
    WalkResult r = w.run();
    EXPECT_EQ(r.why, nullptr);
    ASSERT_EQ(r.count, 2u);
    EXPECT_EQ(w.out[0].from, Gpa{0x1000});
    EXPECT_EQ(w.out[1].trb.param, 0x3000u);
    EXPECT_EQ(w.cur.next, Gpa{0x1020});
    EXPECT_TRUE(w.cur.cycle);
}

TEST(XhciRing, AnEmptyRingCopiesNothingAndStays) {
    Walk w;
    w.g.put(0x1000, TrbType::Normal, false);
    WalkResult r = w.run();
    EXPECT_EQ(r.why, nullptr);
    EXPECT_EQ(r.count, 0u);
    EXPECT_EQ(w.cur.next, Gpa{0x1000});
}

TEST(XhciRing, FollowsALinkWithToggleCycleAndFlipsTheCycleState) {
    Walk w;
    w.g.put(0x1000, TrbType::Normal, true);
    w.g.link(0x1010, 0x5000, true, true);
    w.g.put(0x5000, TrbType::Normal, false, 0x7000);  // the producer's new cycle is 0
    w.g.put(0x5010, TrbType::Normal, true);           // stale: left from the last lap
    WalkResult r = w.run();
    EXPECT_EQ(r.why, nullptr);
    ASSERT_EQ(r.count, 2u);
    EXPECT_EQ(w.out[1].from, Gpa{0x5000});
    EXPECT_EQ(w.cur.next, Gpa{0x5010});
    EXPECT_FALSE(w.cur.cycle);
}

TEST(XhciRing, ALinkWithoutToggleKeepsTheCycleState) {
    Walk w;
    w.g.link(0x1000, 0x6000, true, false);
    w.g.put(0x6000, TrbType::NoOp, true);
    WalkResult r = w.run();
    ASSERT_EQ(r.count, 1u);
    EXPECT_EQ(w.out[0].from, Gpa{0x6000});
    EXPECT_TRUE(w.cur.cycle);
}

TEST(XhciRing, LinksAreNotCopied) {
    Walk w;
    w.g.put(0x1000, TrbType::Normal, true);
    w.g.link(0x1010, 0x1000, true, true);
    WalkResult r = w.run();
    EXPECT_EQ(r.why, nullptr);
    ASSERT_EQ(r.count, 1u);
    EXPECT_EQ(trb_type(w.out[0].trb), TrbType::Normal);
}

TEST(XhciRing, ALinkToItselfIsRefusedAsALoop) {
    Walk w;
    w.g.link(0x1000, 0x1000, true, false);
    WalkResult r = w.run();
    ASSERT_NE(r.why, nullptr);
    EXPECT_NE(strstr(r.why, "link TRB after a link TRB"), nullptr);
    EXPECT_EQ(w.cur.next, Gpa{0x1000});
    EXPECT_LT(w.g.reads, 8u);
}

TEST(XhciRing, ALinkToALinkIsAZeroLengthSegment) {
    Walk w;
    w.g.put(0x1000, TrbType::Normal, true);
    w.g.link(0x1010, 0x2000, true, false);
    w.g.link(0x2000, 0x3000, true, false);
    WalkResult r = w.run();
    ASSERT_NE(r.why, nullptr);
    EXPECT_EQ(r.count, 1u);  // what came before the refusal
    EXPECT_EQ(w.cur.next, Gpa{0x1010});
}

TEST(XhciRing, ALoopThatProducesTrbsEndsAtTheBound) {
    Walk w;
    w.g.put(0x1000, TrbType::NoOp, true);
    w.g.link(0x1010, 0x1000, true, false);  // no toggle: the same TRB is "new" forever
    WalkResult r = w.run(16);
    ASSERT_NE(r.why, nullptr);
    EXPECT_NE(strstr(r.why, "more TRBs"), nullptr);
    EXPECT_EQ(r.count, 16u);
}

TEST(XhciRing, AMisalignedLinkTargetIsRefused) {
    Walk w;
    w.g.link(0x1000, 0x2008, true, false);
    WalkResult r = w.run();
    ASSERT_NE(r.why, nullptr);
    EXPECT_NE(strstr(r.why, "aligned"), nullptr);
}

TEST(XhciRing, ALinkIntoTheMonitorIsRefused) {
    Walk w;
    w.g.put(0x1000, TrbType::Normal, true);
    w.g.link(0x1010, kHiddenBase + 0x100, true, false);
    WalkResult r = w.run();
    ASSERT_NE(r.why, nullptr);
    EXPECT_NE(strstr(r.why, "outside guest memory"), nullptr);
    EXPECT_EQ(r.count, 1u);
}

TEST(XhciRing, ALinkPastTheEndOfRamIsRefused) {
    Walk w;
    w.g.link(0x1000, kRam - 8, true, false);  // misaligned and straddling the end
    EXPECT_NE(w.run().why, nullptr);
    Walk v;
    v.g.link(0x1000, ~u64{0xF}, true, false);  // would wrap
    EXPECT_NE(v.run().why, nullptr);
}

TEST(XhciRing, ARingStartingInTheMonitorIsRefused) {
    Walk w;
    w.cur.next = Gpa{kHiddenBase};
    EXPECT_NE(w.run().why, nullptr);
}

TEST(XhciRing, ACopyIsTakenOnceSoARewriteAfterTheWalkChangesNothing) {
    Walk w;
    w.g.put(0x1000, TrbType::Normal, true, 0x2000, 64);
    ASSERT_EQ(w.run().count, 1u);
    w.g.trb(0x1000).param = kHiddenBase;  // the guest rewrites it after the doorbell
    EXPECT_EQ(w.out[0].trb.param, 0x2000u);
}

TEST(XhciRing, TheWalkResumesWhereItStopped) {
    Walk w;
    w.g.put(0x1000, TrbType::Normal, true);
    w.g.put(0x1010, TrbType::Normal, false);
    ASSERT_EQ(w.run().count, 1u);
    w.g.put(0x1010, TrbType::Normal, true, 0x9000);
    WalkResult r = w.run();
    ASSERT_EQ(r.count, 1u);
    EXPECT_EQ(w.out[0].trb.param, 0x9000u);
}
