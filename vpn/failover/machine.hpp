// Gateway failover (docs/vpn.md, "Gateway failover"): which configured gateway carries the
// guest's traffic, which one is kept as the hot standby, and when to move. Pure: the monitor
// (vpn/monitor/tunnel_failover.cpp) tells it what IKE and the liveness pings saw and does what
// poll() answers; host-tested in tests/unit/test_vpn_failover_machine.cpp.
//
// Liveness: every gateway with a child SA is pinged inside its tunnel every interval_ms; a ping
// not answered before the next one is sent is a miss, `misses` in a row declare the gateway
// Dead. A Dead active gateway, or one that lost its SA, is left at once for the standby when
// that one answers, else for the next gateway in order, whose IKE then starts on demand. When
// the standby went silent together with the active, nothing moves: the fault is more likely
// the monitor's own link than two gateways at once (both_silent). A gateway given setup_ms without an SA is left for the next one, round and round,
// so with every gateway down they are all retried for ever (and the tunnel stays closed).
//
// Hysteresis: with failback = Preferred the tunnel returns to gateway 0 only after it answered
// every ping for hold_ms in a row; one miss starts the hold over, so a flapping gateway is
// never returned to. The standby is always the most preferred gateway other than the active.
#pragma once

#include "core/types.hpp"

namespace tv::vpn::failover {

inline constexpr u32 kMaxGateways = 4;

enum class Failback : u8 { Stay, Preferred };

struct Params {
    bool ping{true};        // false (no liveness target): an SA counts as alive, IKE's DPD decides
    u32 interval_ms{100};   // between two pings of one gateway
    u32 misses{3};          // unanswered pings in a row that declare a gateway dead
    u32 interval_of[kMaxGateways]{};  // per gateway, when not 0: its own interval and misses
    u32 misses_of[kMaxGateways]{};
    bool standby{true};     // hot standby: an SA with the most preferred other gateway, kept up
    Failback failback{Failback::Stay};
    u32 hold_ms{30000};     // Preferred: how long gateway 0 answers before the tunnel returns
    u32 setup_ms{10000};    // a gateway without an SA this long is left for the next
    u32 grace_ms{3000};     // ... or this long, if the standby is up and answering
};

enum class Liveness : u8 {
    NoSa,     // no child SA with it (IKE under way, or not linked)
    Probing,  // an SA, no reply yet
    Alive,    // answered within the last `misses` pings
    Dead,     // `misses` pings in a row unanswered
};
char const* to_string(Liveness l);

enum class Why : u8 { None, Misses, SaLost, NoSa, Failback };
char const* to_string(Why w);

struct GatewayState {
    Liveness live;
    bool linked;         // the monitor keeps an IKE SA with it (the active or the standby)
    u16 seq;             // of the latest ping sent
    bool waiting;        // the latest ping is unanswered
    u32 misses;          // in a row
    u64 sent_ms;         // the latest ping
    u64 first_miss_ms;   // when the first ping of the current run of misses was sent
    u64 alive_since_ms;  // the first reply of the current run without a miss
    u64 since_ms;        // linked without an SA since, or Dead since
    bool had_sa;         // this link had an SA (losing it is a failure, not a slow start)
    bool steady;         // alive_since_ms is valid: no miss since that reply
    u64 pings, replies;
};

struct Switch {
    bool now;
    u32 from, to;
    Why why;
    u64 detect_ms;  // the first missed ping (or the SA's loss) to this decision
    bool fresh;     // `to` has no SA to use: the monitor starts IKE with it
};

struct Step {
    u32 ping_mask;  // bit g: send ping seq[g] through gateway g's tunnel now
    u16 seq[kMaxGateways];
    u32 start_mask;  // bit g: (re)start IKE with gateway g: newly linked, or Dead too long
    u32 stop_mask;   // bit g: no longer linked: delete its IKE SA
    Switch sw;
};

class Machine {
  public:
    void init(Params const& p, u32 gateway_count, u64 now_ms);
    // What IKE saw: a child SA with gateway g came up, or its last one went.
    void sa_up(u32 g, u64 now_ms);
    void sa_down(u32 g, u64 now_ms);
    // One of our echo replies (echo.hpp) for gateway g.
    void reply(u32 g, u16 seq, u64 now_ms);
    // Every tick: misses counted, pings due, the switch if one is due, links to start/stop.
    Step poll(u64 now_ms);

    u32 active() const { return active_; }
    int standby() const;  // -1: none (off, or one gateway)
    u32 count() const { return count_; }
    Params const& params() const { return p_; }
    GatewayState const& gateway(u32 g) const { return gw_[g]; }
    u64 failovers() const { return failovers_; }

  private:
    void count_misses(u64 now);
    Switch decide(u64 now) const;
    bool both_silent(int sb) const;
    u32 relink(u64 now, u32* stop_mask);
    u32 interval(u32 g) const { return p_.interval_of[g] ? p_.interval_of[g] : p_.interval_ms; }
    u32 misses(u32 g) const { return p_.misses_of[g] ? p_.misses_of[g] : p_.misses; }
    bool usable(u32 g) const { return gw_[g].live == Liveness::Probing || gw_[g].live == Liveness::Alive; }
    void reset(u32 g, u64 now);

    Params p_{};
    u32 count_{0};
    u32 active_{0};
    u64 failovers_{0};
    GatewayState gw_[kMaxGateways]{};
};

}  // namespace tv::vpn::failover
