// The guest's event ring: the segment table's checks, the producer's cycle bit across
// segments and wraps, the full ring, and ERDP bounds.
#include <gtest/gtest.h>

#include "drivers/usb/xhci_event.hpp"
#include "tests/unit/test_xhci_fake.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

namespace {

void entry(FakeGuest& g, u64 erst, u32 i, u64 base, u32 size) {
    ErstEntry e{base, size, 0};
    memcpy(g.ram.data() + erst + i * sizeof e, &e, sizeof e);
}

Trb event(u64 param) {
    Trb t{param, 1u << 24, 0};
    set_trb_type(t, TrbType::CommandCompletion);
    return t;
}

}  // namespace

TEST(XhciEvent, LoadsAValidTableAndProducesWithCycleOne) {
    FakeGuest g;
    entry(g, 0x1000, 0, 0x2000, 16);
    GuestEventRing r;
    ASSERT_EQ(r.load(g, Gpa{0x1000}, 1, 2), nullptr);
    ASSERT_TRUE(r.set_dequeue(Gpa{0x2000}));
    ASSERT_TRUE(r.push(g, event(0x1234)));
    EXPECT_EQ(g.trb(0x2000).param, 0x1234u);
    EXPECT_TRUE(trb_cycle(g.trb(0x2000)));
    EXPECT_EQ(r.producer(), Gpa{0x2010});
}

TEST(XhciEvent, RefusesBadTables) {
    FakeGuest g;
    GuestEventRing r;
    entry(g, 0x1000, 0, 0x2000, 16);
    EXPECT_NE(r.load(g, Gpa{0x1000}, 0, 2), nullptr);
    EXPECT_NE(r.load(g, Gpa{0x1000}, 3, 2), nullptr);           // above ERST Max
    EXPECT_NE(r.load(g, Gpa{0x1020}, 1, 2), nullptr) << "zeros"; // a zero-sized segment
    EXPECT_NE(r.load(g, Gpa{0x1010}, 1, 2), nullptr);           // ERSTBA misaligned
    EXPECT_NE(r.load(g, Gpa{kHiddenBase}, 1, 2), nullptr);      // table in the monitor
    entry(g, 0x1000, 0, kHiddenBase - 0x40, 16);                // segment straddles the monitor
    EXPECT_NE(r.load(g, Gpa{0x1000}, 1, 2), nullptr);
    entry(g, 0x1000, 0, 0x2020, 16);                            // not 64-byte aligned
    EXPECT_NE(r.load(g, Gpa{0x1000}, 1, 2), nullptr);
    entry(g, 0x1000, 0, 0x2000, 4097);
    EXPECT_NE(r.load(g, Gpa{0x1000}, 1, 2), nullptr);
    EXPECT_FALSE(r.loaded());
}

TEST(XhciEvent, TheCycleBitFlipsAfterTheLastSegment) {
    FakeGuest g;
    entry(g, 0x1000, 0, 0x2000, 16);
    entry(g, 0x1000, 1, 0x3000, 16);
    GuestEventRing r;
    ASSERT_EQ(r.load(g, Gpa{0x1000}, 2, 2), nullptr);
    for (u32 i = 0; i < 31; ++i) {
        ASSERT_TRUE(r.set_dequeue(r.producer()));  // the guest keeps up
        ASSERT_TRUE(r.push(g, event(i)));
    }
    EXPECT_TRUE(trb_cycle(g.trb(0x3000 + 15 * 16 - 16)));
    ASSERT_TRUE(r.set_dequeue(r.producer()));
    ASSERT_TRUE(r.push(g, event(31)));  // the last TRB of the second segment
    EXPECT_EQ(r.producer(), Gpa{0x2000});
    EXPECT_FALSE(r.cycle());
    ASSERT_TRUE(r.set_dequeue(r.producer()));
    ASSERT_TRUE(r.push(g, event(32)));
    EXPECT_FALSE(trb_cycle(g.trb(0x2000)));
    EXPECT_EQ(g.trb(0x2000).param, 32u);
}

TEST(XhciEvent, AFullRingTakesNoMoreAndLeavesUnreadEventsAlone) {
    FakeGuest g;
    entry(g, 0x1000, 0, 0x2000, 16);
    GuestEventRing r;
    ASSERT_EQ(r.load(g, Gpa{0x1000}, 1, 1), nullptr);
    ASSERT_TRUE(r.set_dequeue(Gpa{0x2000}));
    for (u32 i = 0; i < 15; ++i) ASSERT_TRUE(r.push(g, event(i)));
    EXPECT_TRUE(r.full());
    EXPECT_FALSE(r.push(g, event(99)));
    EXPECT_EQ(g.trb(0x2000).param, 0u);  // the guest's unread first event survives
    ASSERT_TRUE(r.set_dequeue(Gpa{0x2040}));  // the guest read four
    EXPECT_TRUE(r.push(g, event(15)));
}

TEST(XhciEvent, AnErdpOutsideTheSegmentsIsRefusedAndTheConsumerStays) {
    FakeGuest g;
    entry(g, 0x1000, 0, 0x2000, 16);
    GuestEventRing r;
    ASSERT_EQ(r.load(g, Gpa{0x1000}, 1, 1), nullptr);
    ASSERT_TRUE(r.set_dequeue(Gpa{0x2000}));
    EXPECT_FALSE(r.set_dequeue(Gpa{0x2100}));  // one past the end
    EXPECT_FALSE(r.set_dequeue(Gpa{0x2008}));  // inside a TRB
    EXPECT_FALSE(r.set_dequeue(Gpa{kHiddenBase}));
    for (u32 i = 0; i < 15; ++i) ASSERT_TRUE(r.push(g, event(i)));
    EXPECT_FALSE(r.push(g, event(99)));  // the consumer is still at the start
}
