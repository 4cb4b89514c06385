// Gateway failover's state machine (vpn/failover/machine): liveness from the pings, the switch
// to the standby or the next gateway, the on-demand path, every gateway down, failback with
// its hold time, and a flapping gateway that is never returned to.
#include <gtest/gtest.h>

#include "vpn/failover/machine.hpp"

namespace tv::vpn::failover {
namespace {

// A clock and the answers of each gateway's liveness target, one 10 ms tick at a time, as the
// monitor drives the machine.
struct Rig {
    Machine m;
    u64 now = 1000;
    bool answers[kMaxGateways] = {true, true, true, true};
    bool ike_ok[kMaxGateways] = {true, true, true, true};
    u32 starts[kMaxGateways] = {};
    u32 stops[kMaxGateways] = {};
    Switch last{};
    u32 switches = 0;

    explicit Rig(Params p = Params{}, u32 n = 2) { m.init(p, n, now); }

    void tick() {
        now += 10;
        Step const s = m.poll(now);
        if (s.sw.now) {
            last = s.sw;
            ++switches;
        }
        for (u32 g = 0; g < m.count(); ++g) {
            if (s.stop_mask & (1u << g)) {
                ++stops[g];
                m.sa_down(g, now);
            }
            if (s.start_mask & (1u << g)) {
                ++starts[g];
                m.sa_down(g, now);
                if (ike_ok[g]) m.sa_up(g, now);  // IKE at once, for the tests
            }
            if ((s.ping_mask & (1u << g)) && answers[g]) m.reply(g, s.seq[g], now);
        }
    }
    void run_ms(u64 ms) {
        for (u64 end = now + ms; now < end;) tick();
    }
};

TEST(VpnFailover, StartsOnTheFirstGatewayWithTheSecondAsStandbyBothPingedAlive) {
    Rig r;
    r.run_ms(500);
    EXPECT_EQ(r.m.active(), 0u);
    EXPECT_EQ(r.m.standby(), 1);
    EXPECT_EQ(r.m.gateway(0).live, Liveness::Alive);
    EXPECT_EQ(r.m.gateway(1).live, Liveness::Alive);
    EXPECT_EQ(r.switches, 0u);
    EXPECT_GE(r.m.gateway(0).pings, 4u);
    EXPECT_LE(r.m.gateway(0).pings, 6u);  // one every 100 ms
}

TEST(VpnFailover, ThreeMissesDeclareTheActiveDeadAndSwitchToTheStandbyWithoutAHandshake) {
    Rig r;
    r.run_ms(500);
    u64 const died = r.now;
    r.answers[0] = false;
    while (r.switches == 0 && r.now < died + 2000) r.tick();
    ASSERT_EQ(r.switches, 1u);
    EXPECT_EQ(r.last.why, Why::Misses);
    EXPECT_EQ(r.last.to, 1u);
    EXPECT_FALSE(r.last.fresh);
    EXPECT_EQ(r.m.active(), 1u);
    EXPECT_LE(r.now - died, 420u);     // 3 misses at 100 ms, plus a tick or two
    EXPECT_GE(r.last.detect_ms, 290u);  // from the first unanswered ping
    EXPECT_LE(r.last.detect_ms, 310u);
    EXPECT_EQ(r.m.failovers(), 1u);
    EXPECT_EQ(r.m.gateway(0).live, Liveness::Dead);
}

TEST(VpnFailover, TwoMissesAreNotEnoughAndALateReplyCountsAsAlive) {
    Rig r;
    r.run_ms(500);
    r.answers[0] = false;
    r.run_ms(200);  // two pings unanswered
    r.answers[0] = true;
    r.run_ms(1000);
    EXPECT_EQ(r.switches, 0u);
    EXPECT_EQ(r.m.gateway(0).live, Liveness::Alive);
}

TEST(VpnFailover, MissCountAndIntervalAreTheConfiguredOnes) {
    Params p;
    p.interval_ms = 50;
    p.misses = 5;
    Rig r(p);
    r.run_ms(500);
    u64 const died = r.now;
    r.answers[0] = false;
    while (r.switches == 0 && r.now < died + 2000) r.tick();
    EXPECT_GE(r.now - died, 240u);
    EXPECT_LE(r.now - died, 320u);
}

TEST(VpnFailover, EachGatewayCanHaveItsOwnIntervalAndMissCount) {
    Params p;
    p.interval_of[0] = 50;
    p.misses_of[0] = 2;
    p.interval_of[1] = 200;
    Rig r(p);
    r.run_ms(1000);
    EXPECT_GE(r.m.gateway(0).pings, 18u);  // every 50 ms
    EXPECT_LE(r.m.gateway(1).pings, 6u);   // every 200 ms
    u64 const died = r.now;
    r.answers[0] = false;
    while (r.switches == 0 && r.now < died + 2000) r.tick();
    EXPECT_LE(r.now - died, 160u);  // 2 misses at 50 ms
}

TEST(VpnFailover, StandbyOffStartsIkeWithTheNextGatewayOnDemandAndStopsTheDeadOne) {
    Params p;
    p.standby = false;
    Rig r(p);
    r.run_ms(500);
    EXPECT_EQ(r.m.standby(), -1);
    EXPECT_EQ(r.starts[1], 0u);  // no SA with gateway 1 while 0 works
    r.answers[0] = false;
    r.run_ms(600);
    EXPECT_EQ(r.switches, 1u);
    EXPECT_TRUE(r.last.fresh);
    EXPECT_EQ(r.m.active(), 1u);
    EXPECT_EQ(r.starts[1], 1u);
    EXPECT_EQ(r.stops[0], 1u);
    EXPECT_FALSE(r.m.gateway(0).linked);
}

TEST(VpnFailover, ADeadStandbyIsNotSwitchedToTheNextGatewayIsStartedInstead) {
    Params p;
    p.setup_ms = 60000;  // the dead standby is not restarted meanwhile
    Rig r(p, 3);
    r.run_ms(500);
    r.answers[1] = false;
    r.run_ms(500);
    EXPECT_EQ(r.m.gateway(1).live, Liveness::Dead);
    r.answers[0] = false;
    r.run_ms(500);
    ASSERT_GE(r.switches, 1u);
    EXPECT_EQ(r.m.active(), 2u);
    EXPECT_EQ(r.m.standby(), 0);
}

TEST(VpnFailover, BothGatewaysSilentAtOnceIsTheMonitorsLinkNotASwitch) {
    Rig r;
    r.run_ms(500);
    r.answers[0] = r.answers[1] = false;  // the guest resets the NIC: nothing comes in for 600 ms
    r.run_ms(600);
    r.answers[0] = r.answers[1] = true;
    r.run_ms(1000);
    EXPECT_EQ(r.switches, 0u);
    EXPECT_EQ(r.m.active(), 0u);
    EXPECT_EQ(r.m.gateway(0).live, Liveness::Alive);
}

TEST(VpnFailover, BothSilentForGoodIsSettledByIkeAnew) {
    Rig r;
    r.run_ms(500);
    r.answers[0] = r.answers[1] = false;
    r.ike_ok[0] = r.ike_ok[1] = false;
    r.run_ms(9000);
    EXPECT_EQ(r.switches, 0u);
    r.run_ms(12000);  // dead for setup_ms: IKE restarted with both, then the next one tried
    EXPECT_GE(r.starts[0], 2u);
    EXPECT_GE(r.starts[1], 2u);
    EXPECT_GE(r.switches, 1u);
}

TEST(VpnFailover, ADeadActiveWaitsForAStandbyStillInIkeThenTakesItOnceItAnswers) {
    Rig r;
    r.ike_ok[1] = false;  // the standby's gateway is down: IKE retried
    r.run_ms(500);
    r.answers[0] = false;
    r.run_ms(2000);
    EXPECT_EQ(r.switches, 0u);  // nothing better to go to
    r.ike_ok[1] = true;
    r.m.sa_up(1, r.now);  // the standby's SA comes up
    r.run_ms(500);
    EXPECT_EQ(r.switches, 1u);
    EXPECT_EQ(r.m.active(), 1u);
    EXPECT_FALSE(r.last.fresh);
}

TEST(VpnFailover, LosingTheActiveSaSwitchesAtOnceToALiveStandby) {
    Rig r;
    r.run_ms(500);
    r.m.sa_down(0, r.now);  // DPD, a Delete from the gateway, or an IKE failure
    r.tick();
    EXPECT_EQ(r.switches, 1u);
    EXPECT_EQ(r.last.why, Why::SaLost);
    EXPECT_EQ(r.m.active(), 1u);
}

TEST(VpnFailover, AtBootAFasterStandbyTakesOverOnlyAfterTheGraceTime) {
    Rig r;
    r.ike_ok[0] = false;
    r.run_ms(2500);
    EXPECT_EQ(r.m.active(), 0u);
    r.run_ms(1000);
    EXPECT_EQ(r.m.active(), 1u);
    EXPECT_EQ(r.last.why, Why::NoSa);
}

TEST(VpnFailover, WithoutAStandbyTheNextGatewayIsTriedAfterTheSetupTime) {
    Params p;
    p.standby = false;
    Rig r(p);
    r.ike_ok[0] = false;
    r.run_ms(9900);
    EXPECT_EQ(r.m.active(), 0u);
    r.run_ms(300);
    EXPECT_EQ(r.m.active(), 1u);
    EXPECT_TRUE(r.last.fresh);
}

TEST(VpnFailover, BothDownEveryGatewayIsRetriedForEverAndTheOneThatReturnsIsUsed) {
    Rig r;
    r.run_ms(500);
    r.answers[0] = r.answers[1] = false;
    r.ike_ok[0] = r.ike_ok[1] = false;
    r.run_ms(60000);
    EXPECT_GE(r.starts[0] + r.starts[1], 6u);  // IKE restarted with both, again and again
    // gateway 1 returns
    r.answers[1] = true;
    r.ike_ok[1] = true;
    r.run_ms(25000);
    EXPECT_EQ(r.m.active(), 1u);
    EXPECT_EQ(r.m.gateway(1).live, Liveness::Alive);
    u32 const n = r.switches;
    r.run_ms(30000);
    EXPECT_EQ(r.switches, n);  // and stays there
}

TEST(VpnFailover, FailbackStayKeepsTheNewGatewayWhenThePreferredReturns) {
    Rig r;
    r.run_ms(500);
    r.answers[0] = false;
    r.run_ms(1000);
    r.answers[0] = true;
    r.run_ms(120000);
    EXPECT_EQ(r.m.active(), 1u);
    EXPECT_EQ(r.switches, 1u);
}

TEST(VpnFailover, FailbackPreferredReturnsAfterTheHoldTimeNotBefore) {
    Params p;
    p.failback = Failback::Preferred;
    p.hold_ms = 5000;
    Rig r(p);
    r.run_ms(500);
    r.answers[0] = false;
    r.run_ms(1000);
    ASSERT_EQ(r.m.active(), 1u);
    r.answers[0] = true;
    // Dead gateway 0's SA is restarted after setup_ms, then pinged for the hold time.
    u64 const back = r.now;
    while (r.m.active() != 0 && r.now < back + 60000) r.tick();
    EXPECT_EQ(r.m.active(), 0u);
    EXPECT_EQ(r.last.why, Why::Failback);
    EXPECT_GE(r.now - back, 5000u);
    EXPECT_EQ(r.m.standby(), 1);
}

TEST(VpnFailover, AFlappingPreferredGatewayIsNeverReturnedTo) {
    Params p;
    p.failback = Failback::Preferred;
    p.hold_ms = 10000;
    Rig r(p);
    r.run_ms(500);
    for (int i = 0; i < 20; ++i) {  // down and up every 3 s for a minute
        r.answers[0] = !r.answers[0];
        r.run_ms(3000);
    }
    EXPECT_EQ(r.m.active(), 1u);
    EXPECT_EQ(r.switches, 1u);
}

TEST(VpnFailover, OneGatewayOnlyIsRestartedWhenItStopsAnswering) {
    Rig r(Params{}, 1);
    r.run_ms(500);
    EXPECT_EQ(r.m.standby(), -1);
    r.answers[0] = false;
    r.run_ms(500);
    EXPECT_EQ(r.switches, 1u);
    EXPECT_TRUE(r.last.fresh);
    EXPECT_EQ(r.m.active(), 0u);
    EXPECT_EQ(r.starts[0], 2u);
}

TEST(VpnFailover, AStaleReplyToAnOldPingIsIgnored) {
    Rig r;
    r.run_ms(500);
    r.answers[0] = false;
    r.run_ms(350);
    u16 const old = static_cast<u16>(r.m.gateway(0).seq - 5);
    r.m.reply(0, old, r.now);
    r.run_ms(100);
    EXPECT_EQ(r.m.active(), 1u);
}

TEST(VpnFailover, WithoutALivenessTargetNoPingIsSentAndOnlyTheSaDecides) {
    Params p;
    p.ping = false;
    Rig r(p);
    r.answers[0] = r.answers[1] = false;
    r.run_ms(5000);
    EXPECT_EQ(r.m.gateway(0).pings, 0u);
    EXPECT_EQ(r.m.gateway(0).live, Liveness::Alive);
    EXPECT_EQ(r.switches, 0u);
    r.m.sa_down(0, r.now);
    r.tick();
    EXPECT_EQ(r.m.active(), 1u);
}

}  // namespace
}  // namespace tv::vpn::failover
