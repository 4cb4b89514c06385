#include "core/log_ring.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/prng.hpp"

using namespace tv;

namespace {

constexpr char kGuard = '#';
constexpr u64 kGuardBytes = 16;

// A ring whose storage has guard bytes on both sides, to catch writes outside it.
struct Ring {
    std::vector<char> mem;
    LogRing r;

    explicit Ring(u64 capacity) : mem(capacity + 2 * kGuardBytes, kGuard) {
        r.init(mem.data() + kGuardBytes, capacity);
    }
    void put(std::string const& s) { r.write(s.data(), s.size()); }
    std::string get(u64 offset, u64 n) const {
        std::string out(n, '\0');
        out.resize(r.read(offset, out.data(), n));
        return out;
    }
    bool guards_intact() const {
        u64 const cap = mem.size() - 2 * kGuardBytes;
        for (u64 i = 0; i < kGuardBytes; ++i)
            if (mem[i] != kGuard || mem[kGuardBytes + cap + i] != kGuard)
                return false;
        return true;
    }
};

TEST(LogRing, FreshRingHoldsNothing) {
    Ring g{16};
    EXPECT_EQ(g.r.capacity(), 16u);
    EXPECT_EQ(g.r.total_written(), 0u);
    EXPECT_EQ(g.r.oldest(), 0u);
    EXPECT_EQ(g.get(0, 4), "");
}

TEST(LogRing, WrittenBytesReadBackAtTheirOffsets) {
    Ring g{16};
    g.put("hello ");
    g.put("world");
    EXPECT_EQ(g.r.total_written(), 11u);
    EXPECT_EQ(g.get(0, 11), "hello world");
    EXPECT_EQ(g.get(6, 3), "wor");
}

TEST(LogRing, ReadStopsAtTheEndOfTheLog) {
    Ring g{16};
    g.put("abcdef");
    EXPECT_EQ(g.get(4, 100), "ef");
    EXPECT_EQ(g.get(6, 1), "");  // not written yet
    EXPECT_EQ(g.get(1000, 1), "");
}

TEST(LogRing, WrapAroundKeepsTheNewestBytes) {
    Ring g{8};
    g.put("012345");
    g.put("6789AB");
    EXPECT_EQ(g.r.total_written(), 12u);
    EXPECT_EQ(g.r.oldest(), 4u);
    EXPECT_EQ(g.get(4, 8), "456789AB");
    EXPECT_EQ(g.get(6, 4), "6789");  // spans the wrap point in storage
    EXPECT_TRUE(g.guards_intact());
}

TEST(LogRing, OverwrittenOffsetsReadNothing) {
    Ring g{8};
    g.put("0123456789");
    EXPECT_EQ(g.get(0, 4), "");
    EXPECT_EQ(g.get(1, 4), "");
    EXPECT_EQ(g.get(2, 4), "2345");
}

TEST(LogRing, WriteLargerThanCapacityKeepsItsTail) {
    Ring g{8};
    g.put("xy");
    g.put("abcdefghijklmnopqrstuvwxyz");
    EXPECT_EQ(g.r.total_written(), 28u);
    EXPECT_EQ(g.r.oldest(), 20u);
    EXPECT_EQ(g.get(20, 8), "stuvwxyz");
    EXPECT_TRUE(g.guards_intact());
}

TEST(LogRing, ExactlyFullRingKeepsEverything) {
    Ring g{8};
    g.put("abcdefgh");
    EXPECT_EQ(g.r.oldest(), 0u);
    EXPECT_EQ(g.get(0, 8), "abcdefgh");
}

TEST(LogRing, NonPowerOfTwoCapacityIsRoundedDown) {
    Ring g{12};
    EXPECT_EQ(g.r.capacity(), 8u);
    g.put("0123456789");
    EXPECT_EQ(g.get(2, 8), "23456789");
    EXPECT_TRUE(g.guards_intact());
    for (u64 i = 8; i < 12; ++i)  // the storage past the rounded capacity is not used
        EXPECT_EQ(g.mem[kGuardBytes + i], kGuard) << i;
}

TEST(LogRing, ZeroCapacityCountsButHoldsNothing) {
    Ring g{0};
    g.put("abc");
    EXPECT_EQ(g.r.capacity(), 0u);
    EXPECT_EQ(g.r.total_written(), 3u);
    EXPECT_EQ(g.r.oldest(), 3u);
    EXPECT_EQ(g.get(0, 3), "");
    EXPECT_EQ(g.get(3, 3), "");
}

TEST(LogRing, CapacityOfOneHoldsTheLastByte) {
    Ring g{1};
    g.put("abc");
    EXPECT_EQ(g.get(2, 5), "c");
    EXPECT_EQ(g.get(1, 5), "");
    EXPECT_TRUE(g.guards_intact());
}

TEST(LogRing, EmptyWritesChangeNothing) {
    Ring g{8};
    g.put("");
    g.r.write(nullptr, 0);
    EXPECT_EQ(g.r.total_written(), 0u);
}

// How a guest tool drains the log through TV_HC_LOG_READ: 32 bytes a call, restarting from
// oldest() when it fell behind.
TEST(LogRing, ChunkedReaderDrainsTheWholeHeldLog) {
    Ring g{64};
    std::string all;
    for (int i = 0; i < 40; ++i) {
        std::string const line = "line " + std::to_string(i) + "\n";
        g.put(line);
        all += line;
    }
    std::string got;
    u64 off = 0;
    for (;;) {
        char buf[32];
        u64 const n = g.r.read(off, buf, sizeof buf);
        if (n == 0 && off < g.r.oldest()) {
            off = g.r.oldest();
            continue;
        }
        if (n == 0)
            break;
        got.append(buf, n);
        off += n;
    }
    EXPECT_EQ(got, all.substr(all.size() - 64));
}

// --- property test against a string holding everything ever written ----------------------

TEST(LogRing, PropertyMatchesFullHistoryModelUnderRandomWritesAndReads) {
    test::Prng rng{0x106};
    for (u64 cap : {1u, 2u, 16u, 64u, 4096u}) {
        Ring g{cap};
        std::string history;
        for (int op = 0; op < 2000; ++op) {
            if (rng.chance(2)) {
                std::string s(rng.below(rng.chance(10) ? 3 * cap : cap / 2 + 2), '\0');
                for (char& c : s)
                    c = static_cast<char>('a' + rng.below(26));
                g.put(s);
                history += s;
            }
            u64 const oldest = history.size() > cap ? history.size() - cap : 0;
            ASSERT_EQ(g.r.total_written(), history.size());
            ASSERT_EQ(g.r.oldest(), oldest);
            u64 const off = rng.below(history.size() + 4), n = rng.below(cap + 8);
            std::string const want =
                off < oldest || off >= history.size() ? "" : history.substr(off, n);
            ASSERT_EQ(g.get(off, n), want) << "cap " << cap << " off " << off << " n " << n;
        }
        EXPECT_TRUE(g.guards_intact());
    }
}

}  // namespace
