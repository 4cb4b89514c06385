// The initiator on a bad network: lost, late, reordered and duplicated replies, a target that
// goes away and comes back, and the deadline after which a request fails.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/prng.hpp"
#include "tests/unit/test_aoe_fake.hpp"

using namespace tv;
using namespace tv::aoe;
using namespace tv::aoe::test;

namespace {

Frame parsed(Bytes const& b) {
    Frame f{};
    EXPECT_EQ(parse_frame(b.data(), b.size(), &f), ParseResult::Ok);
    return f;
}

// Tags: sequence << 10 | attempt << 6 | slot.
u8 attempt_of(Bytes const& b) { return static_cast<u8>(parsed(b).tag >> 6 & 0xF); }
u32 seq_of(Bytes const& b) { return parsed(b).tag >> 10; }

// After bring-up with 100 us round trips the timeout sits at its 5 ms floor.
constexpr u64 kFloor = 5'000;

}  // namespace

TEST(AoeRecovery, LostFrameIsResentAfterTheTimeoutWithTheSameSequence) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    ASSERT_EQ(g.ini.rtt().rto_us(), kFloor);
    Bytes buf(kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 7, 1, buf.data(), c), Status::Ok);
    std::vector<Bytes> first = g.take_sent();
    ASSERT_EQ(first.size(), 1u);
    g.advance(kFloor - 1);
    EXPECT_TRUE(g.take_sent().empty());
    g.advance(1);
    std::vector<Bytes> again = g.take_sent();
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(seq_of(again[0]), seq_of(first[0]));
    EXPECT_EQ(attempt_of(first[0]), 0);
    EXPECT_EQ(attempt_of(again[0]), 1);
    EXPECT_EQ(g.ini.counters().retransmits, 1u);
    g.settle();
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(buf, g.target.read(7, 1));
}

TEST(AoeRecovery, RetransmissionsBackOffExponentiallyUpToTheMaximum) {
    Rig g;
    g.cfg.rto_max_us = 40'000;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 0, 1, buf.data(), c), Status::Ok);
    g.take_sent();
    std::vector<u64> gaps;
    u64 last = g.clock.now;
    while (gaps.size() < 6) {
        g.advance(100);
        if (!g.take_sent().empty()) {
            gaps.push_back(g.clock.now - last);
            last = g.clock.now;
        }
    }
    EXPECT_EQ(gaps, (std::vector<u64>{5'000, 10'000, 20'000, 40'000, 40'000, 40'000}));
}

TEST(AoeRecovery, TimeoutFollowsTheMeasuredRoundTrip) {
    Rig g;
    g.cfg.rto_min_us = 1'000;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(64 * kSectorSize);
    Completion c;
    for (int i = 0; i < 40; ++i) {  // 20 ms round trips, timed once each (sample_paced)
        ASSERT_EQ(g.submit(Op::Read, 0, 2, buf.data(), c), Status::Ok);
        g.settle(20'000);
    }
    EXPECT_NEAR(static_cast<double>(g.ini.rtt().srtt_us()), 20'000.0, 1'000.0);
    u64 const rto = g.ini.rtt().rto_us();
    EXPECT_GE(rto, 20'000u);
    EXPECT_LT(rto, 40'000u);

    ASSERT_EQ(g.submit(Op::Read, 0, 1, buf.data(), c), Status::Ok);
    g.take_sent();
    g.advance(rto - 1);
    EXPECT_TRUE(g.take_sent().empty());
    g.advance(1);
    EXPECT_EQ(g.take_sent().size(), 1u);
}

TEST(AoeRecovery, LateReplyToTheFirstTransmissionCompletesAndIsTimedFromIt) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    u64 const samples = g.ini.rtt().samples();
    Bytes buf(kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 3, 1, buf.data(), c), Status::Ok);
    Bytes const reply0 = g.target.answer(g.take_sent().at(0));
    g.advance(kFloor);
    ASSERT_EQ(g.take_sent().size(), 1u);  // retransmitted
    g.advance(15'000);
    g.deliver(reply0);                     // ...but the first answer arrives after all
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(buf, g.target.read(3, 1));
    // The tag says it answers attempt 0: a 20 ms round trip, which the timeout now covers.
    EXPECT_EQ(g.ini.rtt().samples(), samples + 1);
    EXPECT_GT(g.ini.rtt().rto_us(), 20'000u);
    EXPECT_EQ(g.ini.counters().spurious_retransmits, 1u);
}

TEST(AoeRecovery, ReplyToAnAttemptBetweenFirstAndLatestIsNotTimed) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    u64 const samples = g.ini.rtt().samples();
    Bytes buf(kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 3, 1, buf.data(), c), Status::Ok);
    g.take_sent();
    g.advance(kFloor);
    std::vector<Bytes> again = g.take_sent();  // attempt 1
    ASSERT_EQ(again.size(), 1u);
    g.advance(2 * kFloor);
    ASSERT_EQ(g.take_sent().size(), 1u);       // attempt 2
    g.deliver(g.target.answer(again.at(0)));   // the answer to attempt 1: no send time kept
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(g.ini.rtt().samples(), samples);
}

TEST(AoeRecovery, ReorderedRepliesFillTheRightPlaces) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(32 * kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 40, 32, buf.data(), c), Status::Ok);
    std::vector<Bytes> replies = g.exchange();
    ASSERT_EQ(replies.size(), 16u);
    std::reverse(replies.begin(), replies.end());
    for (Bytes const& r : replies)
        g.deliver(r);
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(buf, g.target.read(40, 32));
    EXPECT_EQ(g.ini.counters().retransmits, 0u);
}

TEST(AoeRecovery, DuplicateRepliesAreRefusedAndCompleteOnce) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(8 * kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 0, 8, buf.data(), c), Status::Ok);
    std::vector<Bytes> replies = g.exchange();
    ASSERT_EQ(replies.size(), 4u);
    for (Bytes const& r : replies) {
        g.deliver(r);
        g.deliver(r);
    }
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(g.refused(Refusal::Duplicate), 4u);
    EXPECT_TRUE(g.logged(Refusal::Duplicate));
    EXPECT_EQ(buf, g.target.read(0, 8));
    EXPECT_TRUE(g.accounting_balances());
}

TEST(AoeRecovery, UnansweredRequestFailsCleanlyAtTheDeadline) {
    Rig g;
    g.cfg.deadline_us = 1'000'000;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(4 * kSectorSize, 0xAB);
    Completion c;
    u64 const t0 = g.clock.now;
    ASSERT_EQ(g.submit(Op::Read, 10, 4, buf.data(), c), Status::Ok);
    std::vector<Bytes> lost = g.take_sent();
    while (c.calls == 0 && g.clock.now - t0 < 5'000'000) {
        g.advance(1'000);
        for (Bytes const& f : g.take_sent())
            lost.push_back(f);
    }
    ASSERT_EQ(c.calls, 1);
    EXPECT_EQ(c.result.outcome, Outcome::TimedOut);
    EXPECT_EQ(c.result.lba, 10u);
    EXPECT_GE(g.clock.now - t0, 1'000'000u);
    EXPECT_LT(g.clock.now - t0, 1'002'000u);
    EXPECT_EQ(g.ini.in_flight(), 0u);
    EXPECT_EQ(g.ini.counters().deadline_failures, 1u);
    EXPECT_EQ(g.ini.counters().requests_failed, 1u);

    // Answers that come after the failure must not touch the buffer the caller got back.
    for (Bytes const& f : lost)
        g.deliver(g.target.answer(f));
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(buf, Bytes(4 * kSectorSize, 0xAB));
    EXPECT_GT(g.refused(Refusal::Duplicate), 0u);
    EXPECT_TRUE(g.accounting_balances());
}

TEST(AoeRecovery, TargetOutageLosesNoWriteAndCompletesOnce) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    Bytes data(96 * kSectorSize);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<u8>(i * 31 + 1);
    Completion c;
    ASSERT_EQ(g.submit(Op::Write, 500, 96, data.data(), c), Status::Ok);
    for (Bytes const& r : g.exchange())  // the first window gets through
        g.deliver(r);
    for (int i = 0; i < 10'000; ++i) {   // then 10 s of silence
        g.advance(1'000);
        g.take_sent();
    }
    EXPECT_EQ(c.calls, 0);
    EXPECT_GT(g.ini.counters().retransmits, 0u);
    EXPECT_EQ(g.ini.congestion_window(), 1u);
    g.settle(100);  // the target is back
    ASSERT_EQ(c.calls, 1);
    EXPECT_EQ(c.result.outcome, Outcome::Ok);
    EXPECT_EQ(g.target.read(500, 96), data);
    EXPECT_EQ(g.ini.congestion_window(), g.ini.window());  // grown back
}

TEST(AoeRecovery, TargetAnnouncementResendsEverythingInFlightAtOnce) {
    Rig g;
    g.cfg.rto_max_us = 2'000'000;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(4 * kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 0, 4, buf.data(), c), Status::Ok);
    for (int i = 0; i < 3000; ++i) {  // 3 s of silence: the timers are backed off to seconds
        g.advance(1'000);
        g.take_sent();
    }
    g.deliver(g.target.announcement());
    EXPECT_EQ(g.ini.counters().announcements, 1u);
    g.advance(0);
    EXPECT_EQ(g.take_sent().size(), 2u);  // both frames, without waiting
    g.advance(2 * kFloor);                // lost again: the backoff restarted, not seconds
    EXPECT_EQ(g.take_sent().size(), 2u);
    g.settle();
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(buf, g.target.read(0, 4));
}

TEST(AoeRecovery, VbladesVersionlessAnnouncementAlsoResendsAtOnce) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    Bytes buf(2 * kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 0, 2, buf.data(), c), Status::Ok);
    g.take_sent();
    g.advance(1'000);
    g.deliver(g.target.announcement(true));
    EXPECT_EQ(g.ini.counters().announcements, 1u);
    EXPECT_EQ(g.refused(Refusal::BadVersion), 0u);
    g.advance(0);
    EXPECT_EQ(g.take_sent().size(), 1u);
    g.settle();
    EXPECT_EQ(c.calls, 1);
}

TEST(AoeRecovery, IdentifyThatTimesOutSendsDiscoveryAgain) {
    Rig g;
    g.cfg.deadline_us = 200'000;
    ASSERT_EQ(g.init(), Status::Ok);
    g.ini.start();
    for (Bytes const& r : g.exchange())
        g.deliver(r);
    ASSERT_EQ(g.ini.state(), State::Identifying);
    for (int i = 0; i < 300; ++i) {
        g.advance(1'000);
        g.take_sent();
    }
    EXPECT_EQ(g.ini.state(), State::Discovering);
    g.settle();
    EXPECT_EQ(g.ini.state(), State::Ready);
}

TEST(AoeRecovery, FailedSendIsTreatedLikeALostFrame) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    g.tx.result = Status::Refused;
    Bytes buf(kSectorSize);
    Completion c;
    ASSERT_EQ(g.submit(Op::Read, 0, 1, buf.data(), c), Status::Ok);
    g.take_sent();
    EXPECT_EQ(g.ini.counters().tx_errors, 1u);
    g.tx.result = Status::Ok;
    g.advance(kFloor);
    g.settle();
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(c.result.outcome, Outcome::Ok);
}

namespace {

// Random requests over a network that drops, duplicates, delays and reorders replies.
// Each request works in region (index % 8) and waits while an older one there is pending, so
// the order in which requests complete cannot change the outcome; a model disk says what the
// target must hold in the end and what each read must return.
class HostileRun {
  public:
    explicit HostileRun(u64 seed) : rng_{seed} { g_.cfg.rto_min_us = 2'000; }

    void run() {
        ASSERT_TRUE(g_.bring_up());
        model_ = g_.target.disk;
        for (int step = 0; step < 200'000; ++step) {
            submit_more();
            network_turn();
            if (next_ == reqs_.size() && g_.ini.pending_requests() == 0)
                break;
        }
    }

    void verify(u64 seed) const {
        for (Req const& r : reqs_) {
            ASSERT_EQ(r.c.calls, 1) << "seed " << seed;
            EXPECT_EQ(r.c.result.outcome, Outcome::Ok);
            if (!r.write) {
                EXPECT_EQ(r.buf, r.expect) << "seed " << seed;
            }
        }
        EXPECT_EQ(g_.target.disk, model_) << "seed " << seed;
        EXPECT_TRUE(g_.accounting_balances());
        EXPECT_GT(g_.ini.counters().retransmits, 0u);  // the network really was hostile
        EXPECT_GT(g_.refused(Refusal::Duplicate), 0u);
    }

  private:
    struct Req {
        Completion c;
        Bytes buf;
        Bytes expect;  // a read's content at submission
        u64 lba;
        bool write;
    };

    bool region_busy(size_t n) const {
        for (size_t j = 0; j < n; ++j)
            if (j % 8 == n % 8 && reqs_[j].c.calls == 0)
                return true;
        return false;
    }

    void submit_more() {
        while (next_ < reqs_.size() && g_.ini.pending_requests() < 4 && !region_busy(next_)) {
            Req& r = reqs_[next_];
            r.lba = (next_ % 8) * 1000 + rng_.below(900);
            u32 const n = 1 + static_cast<u32>(rng_.below(64));
            r.write = rng_.chance(2);
            r.buf.resize(n * kSectorSize);
            for (u8& b : r.buf)
                b = static_cast<u8>(rng_.next());
            auto const at = model_.begin() + static_cast<long>(r.lba * kSectorSize);
            if (r.write)
                std::copy(r.buf.begin(), r.buf.end(), at);
            else
                r.expect.assign(at, at + static_cast<long>(r.buf.size()));
            ASSERT_EQ(g_.submit(r.write ? Op::Write : Op::Read, r.lba, n, r.buf.data(), r.c), Status::Ok);
            ++next_;
        }
    }

    void network_turn() {
        for (Bytes& reply : g_.exchange()) {
            if (rng_.chance(10))
                continue;  // lost
            int const copies = rng_.chance(10) ? 2 : 1;
            for (int k = 0; k < copies; ++k)
                in_air_.emplace_back(g_.clock.now + 50 + rng_.below(3'000), reply);
        }
        g_.clock.now += 100;
        std::stable_sort(in_air_.begin(), in_air_.end(),
                         [](auto const& a, auto const& b) { return a.first < b.first; });
        while (!in_air_.empty() && in_air_.front().first <= g_.clock.now) {
            g_.deliver(in_air_.front().second);
            in_air_.erase(in_air_.begin());
        }
        g_.ini.poll(g_.clock.now);
        // Pending work always has a frame out: nothing waits for a timer that is not set.
        ASSERT_TRUE(g_.ini.pending_requests() == 0 || g_.ini.in_flight() > 0);
    }

    tv::test::Prng rng_;
    Rig g_{8192};
    Bytes model_;
    std::vector<Req> reqs_ = std::vector<Req>(40);
    std::vector<std::pair<u64, Bytes>> in_air_;  // delivery time, frame
    size_t next_{0};
};

}  // namespace

// Every request completes exactly once with the right data, and the disk ends as the model.
TEST(AoeRecovery, HostileNetworkPropertyHolds) {
    for (u64 seed = 1; seed <= 12; ++seed) {
        HostileRun run{seed};
        run.run();
        run.verify(seed);
    }
}
