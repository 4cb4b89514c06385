// net/pinger on the scripted wire: echo requests at the planned interval to the target
// (through ARP), replies counted by identifier and sequence, timeouts, the planned count, and
// the stack's own ICMP (answering pings) unaffected.
#include <gtest/gtest.h>

#include "net/netstack.hpp"
#include "net/pinger.hpp"
#include "tests/unit/test_net_fake.hpp"

namespace tv::net {
namespace {

using test::Bytes;
using test::FakePort;
using test::ip;

constexpr u32 kMonIp = ip(10, 0, 0, 2);
constexpr u32 kGuestIp = ip(10, 0, 0, 50);
constexpr u32 kHostIp = ip(10, 0, 0, 1);

class NetPing : public ::testing::Test {
  protected:
    void SetUp() override {
        stack_stop();
        test::g_net_log.clear();
        ASSERT_EQ(stack_start(NetSettings{false, kMonIp, ip(255, 255, 255, 0), kHostIp, 0, 0}, &port), Status::Ok);
    }
    void TearDown() override {
        pinger.stop();
        stack_stop();
    }
    // `ms` of fake time in 10 ms ticks; the target answers ARP, and echo requests if `answer`.
    void run(u32 ms, bool answer = true) {
        for (u32 t = 0; t < ms; t += 10) {
            stack_tick();
            pinger.tick(test::g_now_ms);
            for (Bytes const& f : port.take()) {
                if (test::ethertype(f) == 0x0806 && test::get16(f, 20) == 1 && test::get_ip(f, 38) == kGuestIp)
                    port.rx.push_back(test::eth(test::kMonMac, test::kHostMac, 0x0806,
                                                test::arp(2, test::kHostMac, kGuestIp, test::kMonMac, kMonIp)));
                if (test::ethertype(f) == 0x0800 && f[23] == 1 && f[34] == 8) {
                    ++requests;
                    EXPECT_EQ(test::get_ip(f, 30), kGuestIp);
                    id = test::get16(f, 38);
                    if (answer) port.rx.push_back(reply(id, test::get16(f, 40)));
                }
                if (test::ethertype(f) == 0x0800 && f[23] == 1 && f[34] == 0) ++stack_replies;
            }
            test::g_now_ms += 10;
        }
    }
    static Bytes reply(u16 ident, u16 seq, u32 from = kGuestIp) {
        Bytes m = test::icmp_echo(ident, seq, "thinvisor monitor ping 01234567");
        m[0] = 0;  // echo reply: the checksum differs by 8 << 8
        m[2] = m[3] = 0;
        u16 const c = inet_checksum(m.data(), m.size());
        m[2] = static_cast<u8>(c >> 8);
        m[3] = static_cast<u8>(c);
        return test::eth(test::kMonMac, test::kHostMac, 0x0800, test::ipv4(from, kMonIp, 1, m));
    }

    FakePort port;
    Pinger pinger;
    u32 requests{0}, stack_replies{0};
    u16 id{0};
};

TEST_F(NetPing, SendsAtTheIntervalAndCountsReplies) {
    ASSERT_EQ(pinger.start(PingPlan{kGuestIp, 100, 50, 0}, test::g_now_ms), Status::Ok);
    run(1000);
    EXPECT_GE(requests, 9u);
    EXPECT_LE(requests, 11u);
    PingCounts const c = pinger.counts();
    EXPECT_EQ(c.sent, requests);
    EXPECT_GE(c.replies + 1, c.sent);  // the last may still be on its way
    EXPECT_EQ(c.timeouts, 0u);
    EXPECT_EQ(c.send_failed, 0u);
}

TEST_F(NetPing, UnansweredRequestsTimeOut) {
    ASSERT_EQ(pinger.start(PingPlan{kGuestIp, 100, 50, 5}, test::g_now_ms), Status::Ok);
    run(800, false);
    PingCounts const c = pinger.counts();
    EXPECT_EQ(c.sent, 5u);
    EXPECT_EQ(c.replies, 0u);
    EXPECT_EQ(c.timeouts, 5u);
    EXPECT_TRUE(pinger.finished());
}

TEST_F(NetPing, RepliesOfOthersAndRepeatsAreNotCounted) {
    ASSERT_EQ(pinger.start(PingPlan{kGuestIp, 100, 90, 1}, test::g_now_ms), Status::Ok);
    run(30, false);
    ASSERT_EQ(requests, 1u);
    port.rx.push_back(reply(static_cast<u16>(id + 1), 0));  // another identifier
    port.rx.push_back(reply(id, 0, ip(10, 0, 0, 77)));       // another host
    port.rx.push_back(reply(id, 5));                         // a sequence never sent
    run(20, false);
    EXPECT_EQ(pinger.counts().replies, 0u);
    port.rx.push_back(reply(id, 0));
    port.rx.push_back(reply(id, 0));  // a duplicate
    run(20, false);
    EXPECT_EQ(pinger.counts().replies, 1u);
    EXPECT_TRUE(pinger.finished());
}

TEST_F(NetPing, TheStackStillAnswersPingsWhileThePingerRuns) {
    ASSERT_EQ(pinger.start(PingPlan{kGuestIp, 100, 50, 0}, test::g_now_ms), Status::Ok);
    port.rx.push_back(test::eth(test::kMonMac, test::kHostMac, 0x0800,
                                test::ipv4(kGuestIp, kMonIp, 1, test::icmp_echo(0x55, 1, "from the guest"))));
    run(100);
    EXPECT_EQ(stack_replies, 1u);
}

TEST_F(NetPing, RefusesAnIncompletePlan) {
    EXPECT_EQ(pinger.start(PingPlan{0, 100, 50, 0}, 0), Status::Invalid);
    EXPECT_EQ(pinger.start(PingPlan{kGuestIp, 0, 50, 0}, 0), Status::Invalid);
    EXPECT_EQ(pinger.start(PingPlan{kGuestIp, 100, 0, 0}, 0), Status::Invalid);
    EXPECT_FALSE(pinger.running());
}

}  // namespace
}  // namespace tv::net
