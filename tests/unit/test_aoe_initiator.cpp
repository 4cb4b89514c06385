// The initiator against a well-behaved scripted target: discovery, IDENTIFY, reads and
// writes, frame sizing, windowing, command selection and submit() validation.
#include <gtest/gtest.h>

#include "tests/unit/test_aoe_fake.hpp"

using namespace tv;
using namespace tv::aoe;
using namespace tv::aoe::test;

namespace {

Bytes read_back(Rig& g, u64 lba, u32 count, Completion* c_out = nullptr) {
    Bytes buf(count * kSectorSize, 0xEE);
    Completion c;
    EXPECT_EQ(g.submit(Op::Read, lba, count, buf.data(), c), Status::Ok);
    g.settle();
    EXPECT_EQ(c.calls, 1);
    if (c_out != nullptr)
        *c_out = c;
    return buf;
}

Bytes disk_range(Rig const& g, u64 lba, u64 count) { return g.target.read(lba, count); }

}  // namespace

TEST(AoeInitiator, InitRefusesWildcardTargetsAndImpossibleMtus) {
    Rig g;
    g.cfg.shelf = kAnyShelf;
    EXPECT_EQ(g.init(), Status::Invalid);
    g.cfg.shelf = 1;
    g.cfg.mtu = 547;  // not even one sector fits
    EXPECT_EQ(g.init(), Status::Invalid);
    g.cfg.mtu = Initiator::kMaxMtu + 1;
    EXPECT_EQ(g.init(), Status::Invalid);
    g.cfg.mtu = 548;
    EXPECT_EQ(g.init(), Status::Ok);
}

TEST(AoeInitiator, DiscoveryBroadcastsQueryConfigForTheConfiguredTarget) {
    Rig g;
    ASSERT_EQ(g.init(), Status::Ok);
    g.ini.start();
    std::vector<Bytes> sent = g.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    Frame f{};
    ASSERT_EQ(parse_frame(sent[0].data(), sent[0].size(), &f), ParseResult::Ok);
    EXPECT_EQ(f.dst, kBroadcastMac);
    EXPECT_EQ(f.src, g.cfg.local_mac);
    EXPECT_EQ(f.command, Command::QueryConfig);
    EXPECT_EQ(f.shelf, 1);
    EXPECT_EQ(f.slot, 2);
    EXPECT_EQ(f.flags, 0);
    EXPECT_EQ(g.ini.state(), State::Discovering);
}

TEST(AoeInitiator, BringUpLearnsMacWindowFrameSizeAndDiskSize) {
    Rig g{10000};
    ASSERT_TRUE(g.bring_up());
    EXPECT_EQ(g.ini.target().mac, g.target.mac_addr);
    EXPECT_EQ(g.ini.target().buffer_count, 16);
    EXPECT_EQ(g.ini.window(), 16u);
    EXPECT_EQ(g.ini.sectors_per_frame(), 2u);
    EXPECT_EQ(g.ini.sectors(), 10000u);
    EXPECT_TRUE(g.ini.identify().lba48);
    EXPECT_STREQ(g.ini.identify().model, "Fake AoE target");
    EXPECT_TRUE(g.accounting_balances());
}

TEST(AoeInitiator, DiscoveryRetriesWithBackoffUntilTheTargetAnswers) {
    Rig g;
    g.cfg.rto_initial_us = 100'000;
    ASSERT_EQ(g.init(), Status::Ok);
    g.ini.start();
    g.take_sent();  // lost
    g.advance(99'000);
    EXPECT_TRUE(g.take_sent().empty());
    g.advance(1'000);
    EXPECT_EQ(g.take_sent().size(), 1u);  // 100 ms after the first
    g.advance(199'000);
    EXPECT_TRUE(g.take_sent().empty());
    g.advance(1'000);
    EXPECT_EQ(g.take_sent().size(), 1u);  // then 200 ms
    g.settle();
    EXPECT_EQ(g.ini.state(), State::Ready);
}

TEST(AoeInitiator, ReadReturnsTheTargetsSectors) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    for (u32 count : {1u, 2u, 3u, 17u, 64u, 333u}) {
        Completion c;
        Bytes got = read_back(g, 100, count, &c);
        EXPECT_EQ(c.result.outcome, Outcome::Ok);
        EXPECT_EQ(got, disk_range(g, 100, count)) << count;
    }
    EXPECT_EQ(g.ini.counters().requests_done, 6u);
}

TEST(AoeInitiator, WriteLandsOnTheTargetAndLeavesTheBufferAlone) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    Bytes data(37 * kSectorSize);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<u8>(i * 7 + 3);
    Bytes const copy = data;
    Completion c;
    ASSERT_EQ(g.submit(Op::Write, 1000, 37, data.data(), c), Status::Ok);
    g.settle();
    ASSERT_EQ(c.calls, 1);
    EXPECT_EQ(c.result.outcome, Outcome::Ok);
    EXPECT_EQ(disk_range(g, 1000, 37), copy);
    EXPECT_EQ(data, copy);
}

TEST(AoeInitiator, FramesCarryTwoSectorsAtMtu1500) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    g.target.seen.clear();
    read_back(g, 0, 9);
    ASSERT_EQ(g.target.seen.size(), 5u);
    for (size_t i = 0; i < 4; ++i)
        EXPECT_EQ(g.target.seen[i].count, 2);
    EXPECT_EQ(g.target.seen[4].count, 1);
}

TEST(AoeInitiator, JumboMtuCarriesMoreSectorsUpToTheTargetsLimit) {
    Rig g;
    g.cfg.mtu = 9000;
    g.target.max_sectors = 17;
    ASSERT_TRUE(g.bring_up());
    EXPECT_EQ(g.ini.sectors_per_frame(), 17u);  // (9000 - 36) / 512

    Rig h;
    h.cfg.mtu = 9000;
    h.target.max_sectors = 8;  // the target's link is smaller
    ASSERT_TRUE(h.bring_up());
    EXPECT_EQ(h.ini.sectors_per_frame(), 8u);
    h.target.seen.clear();
    EXPECT_EQ(read_back(h, 5, 20), disk_range(h, 5, 20));
    EXPECT_EQ(h.target.seen[0].count, 8);

    Rig k;
    k.cfg.mtu = 4000;
    k.target.max_sectors = 0;  // not advertised: the MTU alone decides
    ASSERT_TRUE(k.bring_up());
    EXPECT_EQ(k.ini.sectors_per_frame(), 7u);
}

TEST(AoeInitiator, FramesInFlightNeverExceedTheTargetsBufferCount) {
    Rig g;
    g.target.buffer_count = 5;
    ASSERT_TRUE(g.bring_up());
    EXPECT_EQ(g.ini.window(), 5u);
    Bytes buf(200 * kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 0, 200, buf.data(), c), Status::Ok);
    EXPECT_EQ(g.take_sent().size(), 5u);  // the first burst fills the window exactly
    EXPECT_EQ(g.ini.in_flight(), 5u);
    g.settle();
    EXPECT_EQ(c.calls, 1);
    EXPECT_LE(g.tx.peak_in_flight, 5u);
}

TEST(AoeInitiator, ConfiguredWindowOfOneSendsOneFrameAtATime) {
    Rig g;
    g.cfg.max_window = 1;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(10 * kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 0, 10, buf.data(), c), Status::Ok);
    for (int round = 0; round < 5; ++round) {
        std::vector<Bytes> replies = g.exchange();
        ASSERT_EQ(replies.size(), 1u) << round;
        g.deliver(replies[0]);
    }
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(buf, disk_range(g, 0, 10));
}

TEST(AoeInitiator, HugeBufferCountIsCappedAtTheWindowLimit) {
    Rig g;
    g.target.buffer_count = 1000;
    ASSERT_TRUE(g.bring_up());
    EXPECT_EQ(g.ini.window(), Initiator::kMaxWindow);
}

TEST(AoeInitiator, Uses28BitCommandsBelow2To28AndExtAbove) {
    Rig g{(1ull << 28) + 64};
    ASSERT_TRUE(g.bring_up());
    g.target.seen.clear();
    read_back(g, 10, 2);
    read_back(g, (1ull << 28) - 2, 2);   // the last two 28-bit sectors
    read_back(g, (1ull << 28) - 1, 2);   // crosses 2^28
    read_back(g, (1ull << 28) + 5, 2);
    ASSERT_EQ(g.target.seen.size(), 4u);
    EXPECT_EQ(g.target.seen[0].cmd, 0x20);
    EXPECT_FALSE(g.target.seen[0].extended);
    EXPECT_EQ(g.target.seen[1].cmd, 0x20);
    EXPECT_EQ(g.target.seen[1].lba, (1ull << 28) - 2);
    EXPECT_EQ(g.target.seen[2].cmd, 0x24);
    EXPECT_TRUE(g.target.seen[2].extended);
    EXPECT_EQ(g.target.seen[3].cmd, 0x24);
    EXPECT_EQ(g.target.seen[3].lba, (1ull << 28) + 5);
}

TEST(AoeInitiator, HighWriteUsesWriteSectorsExt) {
    Rig g{(1ull << 28) + 64};
    ASSERT_TRUE(g.bring_up());
    g.target.seen.clear();
    Bytes data(kSectorSize, 1);
    Completion c;
    ASSERT_EQ(g.submit(Op::Write, (1ull << 28) + 1, 1, data.data(), c), Status::Ok);
    g.settle();
    ASSERT_EQ(g.target.seen.size(), 1u);
    EXPECT_EQ(g.target.seen[0].cmd, 0x34);
    EXPECT_EQ(c.result.outcome, Outcome::Ok);
}

TEST(AoeInitiator, AlwaysLba48OptionUsesExtEverywhere) {
    Rig g;
    g.cfg.always_lba48 = true;
    ASSERT_TRUE(g.bring_up());
    g.target.seen.clear();
    read_back(g, 3, 1);
    ASSERT_EQ(g.target.seen.size(), 1u);
    EXPECT_EQ(g.target.seen[0].cmd, 0x24);
}

TEST(AoeInitiator, SubmitIsRefusedBeforeReadyAndForBadRequests) {
    Rig g{1000};
    ASSERT_EQ(g.init(), Status::Ok);
    Bytes buf(4 * kSectorSize);
    Completion c;
    EXPECT_EQ(g.submit(Op::Read, 0, 1, buf.data(), c), Status::Invalid);  // not Ready
    g.ini.start();
    g.settle();
    ASSERT_EQ(g.ini.state(), State::Ready);
    EXPECT_EQ(g.submit(Op::Read, 0, 0, buf.data(), c), Status::Invalid);
    EXPECT_EQ(g.submit(Op::Read, 0, 1, nullptr, c), Status::Invalid);
    EXPECT_EQ(g.ini.submit(IoRequest{Op::Read, 0, 1, buf.data(), nullptr, nullptr}), Status::Invalid);
    EXPECT_EQ(g.submit(Op::Read, 999, 2, buf.data(), c), Status::Invalid);   // past the end
    EXPECT_EQ(g.submit(Op::Read, 1000, 1, buf.data(), c), Status::Invalid);
    EXPECT_EQ(g.submit(Op::Read, ~0ull, 2, buf.data(), c), Status::Invalid);  // wraps
    EXPECT_EQ(g.submit(Op::Read, 999, 1, buf.data(), c), Status::Ok);
    g.settle();
    EXPECT_EQ(c.calls, 1);
}

TEST(AoeInitiator, TooManyPendingRequestsIsNoMemory) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(kSectorSize * Initiator::kMaxRequests);
    Completion c[Initiator::kMaxRequests + 1];
    for (u32 i = 0; i < Initiator::kMaxRequests; ++i)
        ASSERT_EQ(g.submit(Op::Read, i, 1, buf.data() + i * kSectorSize, c[i]), Status::Ok);
    EXPECT_EQ(g.ini.pending_requests(), Initiator::kMaxRequests);
    EXPECT_EQ(g.submit(Op::Read, 0, 1, buf.data(), c[Initiator::kMaxRequests]), Status::NoMemory);
    g.settle();
    for (u32 i = 0; i < Initiator::kMaxRequests; ++i)
        EXPECT_EQ(c[i].calls, 1);
}

namespace {
struct Chain {  // submits the next read from inside the completion of the previous one
    Rig* g;
    Bytes buf = Bytes(8 * kSectorSize);
    int done = 0;
    static void next(void* ctx, Result const& r) {
        auto* self = static_cast<Chain*>(ctx);
        EXPECT_EQ(r.outcome, Outcome::Ok);
        if (++self->done == 8)
            return;
        IoRequest const req{Op::Read, static_cast<u64>(self->done), 1,
                            self->buf.data() + self->done * kSectorSize, &Chain::next, self};
        EXPECT_EQ(self->g->ini.submit(req), Status::Ok);
    }
};
}  // namespace

TEST(AoeInitiator, CompletionMaySubmitTheNextRequest) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    Chain chain{&g};
    ASSERT_EQ(g.ini.submit(IoRequest{Op::Read, 0, 1, chain.buf.data(), &Chain::next, &chain}),
              Status::Ok);
    g.settle();
    EXPECT_EQ(chain.done, 8);
    EXPECT_EQ(chain.buf, disk_range(g, 0, 8));
}

TEST(AoeInitiator, RequestsAreIssuedOldestFirst) {
    Rig g;
    g.cfg.max_window = 2;
    ASSERT_TRUE(g.bring_up());
    Bytes a(8 * kSectorSize), b(8 * kSectorSize);
    Completion ca, cb;
    ASSERT_EQ(g.submit(Op::Read, 0, 8, a.data(), ca), Status::Ok);
    ASSERT_EQ(g.submit(Op::Read, 100, 8, b.data(), cb), Status::Ok);
    g.target.seen.clear();
    g.settle();
    ASSERT_EQ(g.target.seen.size(), 8u);
    for (size_t i = 0; i < 4; ++i)
        EXPECT_LT(g.target.seen[i].lba, 100u) << i;
}

TEST(AoeInitiator, TargetOutOfRangeErrorBecomesDeviceError) {
    Rig g{100};
    ASSERT_TRUE(g.bring_up());
    g.target.sectors = 50;  // the disk shrank behind our back
    Bytes buf(4 * kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 60, 4, buf.data(), c), Status::Ok);
    g.settle();
    ASSERT_EQ(c.calls, 1);
    EXPECT_EQ(c.result.outcome, Outcome::DeviceError);
    EXPECT_EQ(c.result.ata_status, kAtaStatusReady | kAtaStatusError);
    EXPECT_EQ(c.result.ata_error, 0x10);
    EXPECT_EQ(g.ini.counters().ata_errors, 1u);
    EXPECT_EQ(g.ini.in_flight(), 0u);
}

TEST(AoeInitiator, RestartFailsPendingRequestsAsAbortedAndRediscovers) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(4 * kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 0, 4, buf.data(), c), Status::Ok);
    g.take_sent();
    g.ini.start();
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(c.result.outcome, Outcome::Aborted);
    EXPECT_EQ(g.ini.state(), State::Discovering);
    g.settle();
    EXPECT_EQ(g.ini.state(), State::Ready);
}
