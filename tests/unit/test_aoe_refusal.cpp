// Every kind of bad reply is refused, counted under its reason and logged, and leaves the
// request it pretended to answer pending until the real answer comes.
#include <gtest/gtest.h>

#include "tests/unit/test_aoe_fake.hpp"

using namespace tv;
using namespace tv::aoe;
using namespace tv::aoe::test;

namespace {

// A ready initiator with one two-sector read in flight, and the target's good answer to it.
struct OneRead {
    Rig g;
    Bytes buf = Bytes(2 * kSectorSize, 0xCC);
    Completion c;
    Bytes request;
    Bytes good;

    OneRead() {
        EXPECT_TRUE(g.bring_up());
        EXPECT_EQ(g.submit(Op::Read, 20, 2, buf.data(), c), Status::Ok);
        std::vector<Bytes> sent = g.take_sent();
        EXPECT_EQ(sent.size(), 1u);
        request = sent.at(0);
        good = g.target.answer(request);
    }

    // Delivers the bad frame, checks it was refused for `why` and changed nothing, then lets
    // the real answer through.
    void expect_refused(Bytes const& bad, Refusal why) {
        u64 const before = g.refused(why);
        g.deliver(bad);
        EXPECT_EQ(g.refused(why), before + 1) << refusal_name(why);
        EXPECT_TRUE(g.logged(why)) << refusal_name(why);
        EXPECT_EQ(c.calls, 0) << refusal_name(why);
        EXPECT_EQ(buf, Bytes(2 * kSectorSize, 0xCC)) << refusal_name(why);
        EXPECT_TRUE(g.accounting_balances());
        g.deliver(good);
        EXPECT_EQ(c.calls, 1) << refusal_name(why);
        EXPECT_EQ(c.result.outcome, Outcome::Ok);
        EXPECT_EQ(buf, g.target.read(20, 2));
    }

    Bytes with(size_t offset, u8 value) const {
        Bytes b = good;
        b.at(offset) = value;
        return b;
    }
};

}  // namespace

TEST(AoeRefusal, TruncatedReplyIsRefused) {
    OneRead t;
    t.expect_refused(Bytes(t.good.begin(), t.good.begin() + 30), Refusal::Truncated);
}

TEST(AoeRefusal, TinyRuntFrameIsRefusedAsTruncated) {
    OneRead t;
    t.expect_refused(Bytes(t.good.begin(), t.good.begin() + 5), Refusal::Truncated);
}

TEST(AoeRefusal, OtherProtocolVersionIsRefused) {
    OneRead t;
    t.expect_refused(t.with(14, 0x28), Refusal::BadVersion);
}

TEST(AoeRefusal, UnknownCommandIsRefused) {
    OneRead t;
    t.expect_refused(t.with(19, 0x02), Refusal::UnknownCommand);
}

TEST(AoeRefusal, StrayTrailingByteIsRefusedAsBadLength) {
    OneRead t;
    Bytes b = t.good;
    b.push_back(0);
    t.expect_refused(b, Refusal::BadLength);
}

TEST(AoeRefusal, ShortDataIsRefusedAsBadLength) {
    OneRead t;
    Bytes b = t.good;
    b.resize(kAtaHeaderLen + kSectorSize);  // one sector of the two asked for
    t.expect_refused(b, Refusal::BadLength);
}

TEST(AoeRefusal, ReplyFromAnotherMacIsRefused) {
    OneRead t;
    t.expect_refused(t.with(11, 0x99), Refusal::WrongSource);
}

TEST(AoeRefusal, ReplyFromAnotherShelfSlotIsRefused) {
    OneRead t;
    t.expect_refused(t.with(18, 9), Refusal::WrongTarget);
    OneRead u;
    u.expect_refused(u.with(17, 7), Refusal::WrongTarget);
}

TEST(AoeRefusal, TagsWeNeverSentAreRefused) {
    // Tags are sequence << 10 | attempt << 6 | slot; the read went out in slot 0, attempt 0.
    OneRead t;
    t.expect_refused(t.with(23, 15), Refusal::UnknownTag);  // an idle slot of the window
    OneRead u;
    u.expect_refused(u.with(23, 40), Refusal::UnknownTag);  // a slot beyond the window
    OneRead v;
    v.expect_refused(v.with(21, static_cast<u8>(v.good[21] ^ 0x10)), Refusal::UnknownTag);  // sequence
    OneRead w;
    w.expect_refused(w.with(23, 0x40), Refusal::UnknownTag);  // a retransmission never made
    OneRead x;
    x.expect_refused(x.with(20, static_cast<u8>(x.good[20] | 0x80)), Refusal::UnknownTag);  // probe tag
}

TEST(AoeRefusal, SectorCountOtherThanZeroOrTheRequestsIsRefused) {
    OneRead t;
    t.expect_refused(t.with(26, 1), Refusal::CountMismatch);
}

TEST(AoeRefusal, SectorCountEchoingTheRequestIsAccepted) {
    OneRead t;
    t.g.deliver(t.with(26, 2));
    EXPECT_EQ(t.c.calls, 1);
    EXPECT_EQ(t.c.result.outcome, Outcome::Ok);
    EXPECT_EQ(t.g.ini.counters().refused_total(), 0u);
}

TEST(AoeRefusal, WriteOrExtendedFlagThatDiffersIsRefused) {
    OneRead t;
    t.expect_refused(t.with(24, kAflagWrite), Refusal::FlagMismatch);
    OneRead u;
    u.expect_refused(u.with(24, kAflagExtended), Refusal::FlagMismatch);
}

TEST(AoeRefusal, ErrorFlagIsRefusedAndFailsTheRequestWithTheTargetsError) {
    OneRead t;
    Bytes b = t.with(14, 0x10 | kFlagResponse | kFlagError);
    b[15] = static_cast<u8>(TargetError::DeviceUnavailable);
    b.resize(kMinEthFrame);  // an error reply carries no data
    t.g.deliver(b);
    EXPECT_EQ(t.g.refused(Refusal::ErrorFlag), 1u);
    EXPECT_TRUE(t.g.logged(Refusal::ErrorFlag));
    ASSERT_EQ(t.c.calls, 1);
    EXPECT_EQ(t.c.result.outcome, Outcome::TargetError);
    EXPECT_EQ(t.c.result.aoe_error, TargetError::DeviceUnavailable);
    EXPECT_EQ(t.g.ini.in_flight(), 0u);
    t.g.deliver(t.good);  // the real answer is now a duplicate
    EXPECT_EQ(t.c.calls, 1);
    EXPECT_EQ(t.g.refused(Refusal::Duplicate), 1u);
    EXPECT_TRUE(t.g.accounting_balances());
}

TEST(AoeRefusal, RequestFailedByAReplyHandsItsWindowToTheNextRequest) {
    Rig g;
    g.cfg.max_window = 1;
    ASSERT_TRUE(g.bring_up());
    Bytes a(kSectorSize), b(kSectorSize);
    Completion ca, cb;
    ASSERT_EQ(g.submit(Op::Read, 0, 1, a.data(), ca), Status::Ok);
    ASSERT_EQ(g.submit(Op::Read, 1, 1, b.data(), cb), Status::Ok);
    Bytes reply = g.target.answer(g.take_sent().at(0));
    reply[14] |= kFlagError;
    reply.resize(kMinEthFrame);
    g.deliver(reply);
    EXPECT_EQ(ca.result.outcome, Outcome::TargetError);
    EXPECT_EQ(g.take_sent().size(), 1u);  // the second request went out at once, no timer needed
    EXPECT_EQ(g.ini.in_flight(), 1u);
}

TEST(AoeRefusal, RequestsAndOtherHostsTrafficAreIgnoredNotRefused) {
    OneRead t;
    Bytes req = t.request;  // our own request reflected back: no response flag
    t.g.deliver(req);
    Bytes other_dst = t.with(5, 0x42);
    t.g.deliver(other_dst);
    Bytes ip = t.with(12, 0x08);
    t.g.deliver(ip);
    EXPECT_EQ(t.g.ini.counters().ignored, 3u);
    EXPECT_EQ(t.g.ini.counters().refused_total(), 0u);
    EXPECT_EQ(t.c.calls, 0);
    t.g.deliver(t.good);
    EXPECT_EQ(t.c.calls, 1);
    EXPECT_TRUE(t.g.accounting_balances());
}

TEST(AoeRefusal, UnusableConfigReplyDuringDiscoveryIsRefused) {
    Rig g;
    ASSERT_EQ(g.init(), Status::Ok);
    g.ini.start();
    Bytes q = g.take_sent().at(0);
    Bytes reply = g.target.answer(q);
    Bytes bad = reply;
    bad[29] = 0x12;  // Query Config sub-command 2 is not what we asked
    g.deliver(bad);
    EXPECT_EQ(g.refused(Refusal::BadConfig), 1u);
    Bytes err = reply;
    err[14] |= kFlagError;
    g.deliver(err);
    EXPECT_EQ(g.refused(Refusal::ErrorFlag), 1u);
    Bytes other = reply;
    other[18] = 9;  // another slot answering the broadcast: not for us, not wrong
    g.deliver(other);
    EXPECT_EQ(g.ini.counters().ignored, 1u);
    EXPECT_EQ(g.ini.state(), State::Discovering);
    g.deliver(reply);
    EXPECT_EQ(g.ini.state(), State::Identifying);
}

TEST(AoeRefusal, AnotherMacClaimingOurTargetIsRefusedAfterDiscovery) {
    Rig g;
    ASSERT_TRUE(g.bring_up());
    Bytes a = g.target.announcement();
    a[11] = 0x99;
    g.deliver(a);
    EXPECT_EQ(g.refused(Refusal::WrongSource), 1u);
    EXPECT_EQ(g.ini.target().mac, g.target.mac_addr);
}

TEST(AoeRefusal, VersionZeroIsOnlyTakenAsOurTargetsAnnouncement) {
    OneRead t;
    Bytes a = t.g.target.announcement(true);
    a[11] = 0x99;  // from another MAC
    t.g.deliver(a);
    EXPECT_EQ(t.g.refused(Refusal::BadVersion), 1u);
    EXPECT_EQ(t.g.ini.counters().announcements, 0u);
    t.expect_refused(t.with(14, 0x08), Refusal::BadVersion);  // an ATA reply with version 0
    Bytes other = t.g.target.announcement(true);
    other[18] = 9;  // another target restarting on the segment: not ours to judge
    u64 const ignored = t.g.ini.counters().ignored;
    t.g.deliver(other);
    EXPECT_EQ(t.g.ini.counters().ignored, ignored + 1);
    EXPECT_EQ(t.g.refused(Refusal::BadVersion), 2u);
}

TEST(AoeRefusal, AtaReplyBeforeDiscoveryIsAnUnknownTag) {
    Rig g;
    ASSERT_EQ(g.init(), Status::Ok);
    g.ini.start();
    Frame f{};
    f.dst = g.cfg.local_mac;
    f.src = g.target.mac_addr;
    f.flags = kFlagResponse;
    f.shelf = 1;
    f.slot = 2;
    f.command = Command::Ata;
    g.deliver(build(f));
    EXPECT_EQ(g.refused(Refusal::UnknownTag), 1u);
}

TEST(AoeRefusal, FrameBeforeInitIsIgnoredWithoutCrashing) {
    Initiator ini;
    u8 junk[64] = {};
    ini.on_frame(junk, sizeof junk);
    ini.poll(123);
    ini.start();
    EXPECT_EQ(ini.counters().rx_frames, 0u);
}
