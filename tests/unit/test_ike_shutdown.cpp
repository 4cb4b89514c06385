// The initiator's end of an SA (vpn/ike/initiator_info.cpp): shutdown() sends the Delete of
// the IKE SA (after a request in flight is answered, or once IKE_AUTH brings the SA up), an
// unanswered one closes without starting over, and close() forgets the SA for good. The
// monitor calls them at the guest's power-off and reset (vpn/monitor/tunnel_ike.cpp).
#include <gtest/gtest.h>

#include "tests/unit/test_ike_rig.hpp"

using namespace ike_fake;

TEST(IkeInitiator, ShutdownSendsDeleteAndClosesOnTheAnswer) {
    Rig r;
    r.up();
    r.ini.shutdown();
    ASSERT_EQ(r.ini.state(), State::Deleting);
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(first, static_cast<u8>(Payload::Delete));
    r.answer_empty(h.msg_id);
    EXPECT_EQ(r.ini.state(), State::Closed);
    EXPECT_EQ(r.ev.downs, 1);
}

// The monitor's power-off may come while a DPD (or a rekey) of ours is in flight: the Delete
// waits for its answer (window 1) instead of being dropped, then goes at the next poll.
TEST(IkeInitiator, ShutdownWithARequestInFlightSendsTheDeleteOnceItIsAnswered) {
    Rig r;
    r.up();
    r.advance(10000);  // the DPD interval: an empty INFORMATIONAL goes out
    Buf plain;
    u8 first = 0;
    Header dpd{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, dpd));
    ASSERT_TRUE(plain.empty());
    size_t const sent = r.net.sent.size();
    r.ini.shutdown();
    EXPECT_EQ(r.net.sent.size(), sent);  // not beside the DPD
    EXPECT_EQ(r.ini.state(), State::Established);
    r.answer_empty(dpd.msg_id);
    r.ini.poll();
    ASSERT_EQ(r.ini.state(), State::Deleting);
    ASSERT_EQ(r.net.sent.size(), sent + 1);
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(first, static_cast<u8>(Payload::Delete));
    EXPECT_EQ(h.msg_id, dpd.msg_id + 1);
    r.answer_empty(h.msg_id);
    EXPECT_EQ(r.ini.state(), State::Closed);
    EXPECT_EQ(r.ev.downs, 1);
}

// Power-off while IKE_AUTH is in flight: its answer makes an SA at the gateway, which gets
// the Delete at the next poll.
TEST(IkeInitiator, ShutdownDuringIkeAuthDeletesTheSaOnceItIsUp) {
    Rig r;
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    ASSERT_EQ(r.ini.state(), State::AuthSent);
    Buf const auth = r.last();
    r.ini.shutdown();
    EXPECT_EQ(r.ini.state(), State::AuthSent);
    r.deliver(r.gw.auth_response(auth));
    r.ini.poll();
    ASSERT_EQ(r.ini.state(), State::Deleting);
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(first, static_cast<u8>(Payload::Delete));
    r.answer_empty(h.msg_id);
    EXPECT_EQ(r.ini.state(), State::Closed);
}

// The monitor's last word at power-off: whatever state the SA is in (here a Delete nobody
// answered), it is forgotten with its keys and nothing starts again.
TEST(IkeInitiator, CloseForgetsTheSaAndNeverStartsAgain) {
    Rig r;
    r.up();
    r.ini.shutdown();
    ASSERT_EQ(r.ini.state(), State::Deleting);
    r.ini.close();
    EXPECT_EQ(r.ini.state(), State::Closed);
    EXPECT_EQ(r.ev.downs, 1);
    size_t const sent = r.net.sent.size();
    r.ini.start();
    r.advance(60000);
    EXPECT_EQ(r.net.sent.size(), sent);
    EXPECT_EQ(r.ini.state(), State::Closed);
}

// A request in flight that is never answered: closed without a Delete, never started over.
TEST(IkeInitiator, ShutdownWithAnUnansweredRequestClosesWithoutStartingOver) {
    Rig r;
    r.up();
    r.advance(10000);
    r.ini.shutdown();
    for (int i = 0; i < 200 && r.ini.state() != State::Closed; ++i)
        r.advance(500);
    EXPECT_EQ(r.ini.state(), State::Closed);
    size_t const sent = r.net.sent.size();
    r.advance(60000);
    EXPECT_EQ(r.net.sent.size(), sent);
    EXPECT_EQ(r.ini.state(), State::Closed);
}
