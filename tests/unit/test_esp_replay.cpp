// The ESP anti-replay window (vpn/replay): RFC 4303 section 3.4.3 with a 1024-packet window.
#include <gtest/gtest.h>

#include <vector>

#include "vpn/replay.hpp"

using namespace tv;
using namespace tv::vpn;

namespace {

bool accept(ReplayWindow& w, u32 seq) {
    if (!w.check(seq))
        return false;
    w.update(seq);
    return true;
}

}  // namespace

TEST(EspReplay, SequenceNumberZeroIsNeverAccepted) {
    ReplayWindow w;
    EXPECT_FALSE(w.check(0));
}

TEST(EspReplay, InOrderPacketsAreAcceptedOnceEach) {
    ReplayWindow w;
    for (u32 s = 1; s <= 3000; ++s)
        ASSERT_TRUE(accept(w, s)) << s;
    for (u32 s = 3000 - kReplayWindow + 1; s <= 3000; ++s)
        ASSERT_FALSE(w.check(s)) << s;
}

TEST(EspReplay, ReorderedPacketsInsideTheWindowAreAcceptedOnce) {
    ReplayWindow w;
    ASSERT_TRUE(accept(w, 2000));
    for (u32 s = 2000 - kReplayWindow + 1; s < 2000; s += 7)
        ASSERT_TRUE(accept(w, s)) << s;
    for (u32 s = 2000 - kReplayWindow + 1; s < 2000; s += 7)
        ASSERT_FALSE(w.check(s)) << s;
}

TEST(EspReplay, WindowIsAtLeast1024PacketsWide) {
    ReplayWindow w;
    ASSERT_TRUE(accept(w, 5000));
    EXPECT_TRUE(w.check(5000 - 1023));   // the oldest number still inside
    EXPECT_FALSE(w.check(5000 - 1024));  // just below: too old to judge, dropped
}

// The oldest number in the window and the newest can lie 16 words apart; a ring of exactly
// 16 words would alias them and forget that the old one was seen.
TEST(EspReplay, OldestSeenNumberStaysSeenWhenTheWindowAdvancesAcrossWords) {
    for (u32 top = 1024; top < 1024 + 130; ++top) {
        ReplayWindow w;
        u32 const oldest = top - kReplayWindow + 1;
        ASSERT_TRUE(accept(w, oldest));
        ASSERT_TRUE(accept(w, top));
        EXPECT_FALSE(w.check(oldest)) << "top " << top;
    }
}

TEST(EspReplay, LargeJumpForgetsEverythingBelowTheWindow) {
    ReplayWindow w;
    for (u32 s = 1; s <= 100; ++s)
        ASSERT_TRUE(accept(w, s));
    ASSERT_TRUE(accept(w, 100 + 5 * kReplayWindow));
    EXPECT_FALSE(w.check(100));                         // below the window
    EXPECT_TRUE(w.check(100 + 5 * kReplayWindow - 1));  // inside, never seen
    EXPECT_EQ(w.highest(), 100 + 5 * kReplayWindow);
}

TEST(EspReplay, CheckAloneDoesNotMarkTheNumberSeen) {
    ReplayWindow w;
    ASSERT_TRUE(w.check(7));
    EXPECT_TRUE(w.check(7));  // a packet failing its ICV after check() leaves no trace
    EXPECT_EQ(w.highest(), 0u);
}

TEST(EspReplay, MatchesAReferenceSetOnAPseudoRandomStream) {
    ReplayWindow w;
    std::vector<bool> seen(200000, false);
    u32 top = 0;
    u64 x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 200000; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        i64 delta = static_cast<i64>(x % 2200) - 1800;  // mostly behind, sometimes ahead
        i64 s = static_cast<i64>(top) + delta;
        if (s < 0 || s >= 199000)
            continue;
        u32 const seq = static_cast<u32>(s);
        bool const want = seq != 0 && !seen[seq] && (seq > top || top - seq < kReplayWindow);
        ASSERT_EQ(w.check(seq), want) << "seq " << seq << " top " << top;
        if (want) {
            w.update(seq);
            seen[seq] = true;
            if (seq > top)
                top = seq;
        }
    }
}
