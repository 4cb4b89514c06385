#include "vpn/failover/machine.hpp"

namespace tv::vpn::failover {

char const* to_string(Liveness l) {
    switch (l) {
        case Liveness::NoSa: return "no-sa";
        case Liveness::Probing: return "probing";
        case Liveness::Alive: return "alive";
        case Liveness::Dead: return "dead";
    }
    return "?";
}

char const* to_string(Why w) {
    switch (w) {
        case Why::None: return "none";
        case Why::Misses: return "pings unanswered";
        case Why::SaLost: return "SA lost";
        case Why::NoSa: return "no SA";
        case Why::Failback: return "failback";
    }
    return "?";
}

void Machine::init(Params const& p, u32 gateway_count, u64 now) {
    p_ = p;
    if (p_.misses == 0) p_.misses = 1;
    if (p_.interval_ms == 0) p_.interval_ms = 1;
    count_ = gateway_count < kMaxGateways ? gateway_count : kMaxGateways;
    if (count_ == 0) count_ = 1;
    active_ = 0;
    failovers_ = 0;
    for (u32 g = 0; g < kMaxGateways; ++g) {
        gw_[g] = GatewayState{};
        gw_[g].since_ms = now;
    }
}

int Machine::standby() const {
    if (!p_.standby || count_ < 2) return -1;
    return active_ == 0 ? 1 : 0;  // the most preferred other gateway
}

void Machine::reset(u32 g, u64 now) {
    GatewayState& s = gw_[g];
    u64 const pings = s.pings, replies = s.replies;
    bool const linked = s.linked;
    u16 const seq = s.seq;
    s = GatewayState{};
    s.linked = linked;
    s.seq = seq;  // sequence numbers go on: a late reply to an old ping is never taken for new
    s.pings = pings;
    s.replies = replies;
    s.since_ms = now;
}

void Machine::sa_up(u32 g, u64 now) {
    if (g >= count_ || !gw_[g].linked || gw_[g].live != Liveness::NoSa) return;
    GatewayState& s = gw_[g];
    s.live = p_.ping ? Liveness::Probing : Liveness::Alive;
    s.had_sa = true;
    s.misses = 0;
    s.waiting = false;
    s.steady = !p_.ping;
    s.alive_since_ms = now;
    s.sent_ms = now - interval(g);  // the first ping goes at the next poll
    s.since_ms = now;
}

void Machine::sa_down(u32 g, u64 now) {
    if (g >= count_ || gw_[g].live == Liveness::NoSa) return;
    bool const had = gw_[g].had_sa;
    reset(g, now);
    gw_[g].had_sa = had;
}

void Machine::reply(u32 g, u16 seq, u64 now) {
    if (g >= count_ || gw_[g].live == Liveness::NoSa) return;
    GatewayState& s = gw_[g];
    // A reply to one of the latest `misses` pings proves the gateway alive; older ones are stale.
    if (static_cast<u16>(s.seq - seq) >= misses(g)) return;
    ++s.replies;
    if (seq == s.seq) s.waiting = false;
    s.misses = 0;
    if (s.live != Liveness::Alive) s.live = Liveness::Alive;
    if (!s.steady) {
        s.steady = true;
        s.alive_since_ms = now;
    }
}

void Machine::count_misses(u64 now) {
    for (u32 g = 0; g < count_; ++g) {
        GatewayState& s = gw_[g];
        if (!s.linked || s.live == Liveness::NoSa || !s.waiting || now - s.sent_ms < interval(g)) continue;
        s.waiting = false;
        if (s.misses++ == 0) s.first_miss_ms = s.sent_ms;
        s.steady = false;
        if (s.misses >= misses(g) && s.live != Liveness::Dead) {
            s.live = Liveness::Dead;
            s.since_ms = now;
        }
    }
}

// Whether the standby went silent about when the active did (its first miss at most one interval
// earlier): both gateways at once is more likely the monitor's own link (the guest resetting the
// NIC stalls its receive path for a few hundred ms) than two gateways failing together, so the
// tunnel stays; IKE's restart of a gateway dead for setup_ms settles it if the silence lasts.
bool Machine::both_silent(int sb) const {
    if (sb < 0) return false;
    GatewayState const& s = gw_[sb];
    GatewayState const& a = gw_[active_];
    if (s.live == Liveness::NoSa || s.misses == 0) return false;
    return s.first_miss_ms + interval(static_cast<u32>(sb)) >= a.first_miss_ms;
}

Switch Machine::decide(u64 now) const {
    Switch sw{};
    sw.from = active_;
    GatewayState const& a = gw_[active_];
    int const sb = standby();
    bool const sb_alive = sb >= 0 && gw_[sb].live == Liveness::Alive && gw_[sb].misses == 0;
    if (a.live == Liveness::Dead) {
        if (both_silent(sb)) return sw;
        sw.why = Why::Misses;
        sw.detect_ms = now - a.first_miss_ms;
    } else if (a.live == Liveness::NoSa &&
               ((sb_alive && (a.had_sa || now - a.since_ms >= p_.grace_ms)) || now - a.since_ms >= p_.setup_ms)) {
        sw.why = a.had_sa ? Why::SaLost : Why::NoSa;
        sw.detect_ms = now - a.since_ms;
    } else if (p_.failback == Failback::Preferred && active_ != 0 && gw_[0].linked &&
               gw_[0].live == Liveness::Alive && gw_[0].steady && now - gw_[0].alive_since_ms >= p_.hold_ms) {
        sw.now = true;
        sw.why = Why::Failback;
        sw.to = 0;
        return sw;
    } else {
        return sw;
    }
    sw.now = true;
    if (sb_alive || (sb >= 0 && gw_[sb].live == Liveness::Probing)) {
        sw.to = static_cast<u32>(sb);
        return sw;
    }
    // The next gateway in order that is neither the failed standby nor known dead, else the next.
    sw.to = (active_ + 1) % count_;
    for (u32 k = 1; k < count_; ++k) {
        u32 const g = (active_ + k) % count_;
        if (static_cast<int>(g) != sb && gw_[g].live != Liveness::Dead) {
            sw.to = g;
            break;
        }
    }
    sw.fresh = !usable(sw.to);
    // A dead active gateway is not left for a standby whose IKE is still under way: moving
    // gains nothing (its SA comes up as fast either way, and is switched to once it answers),
    // and a false alarm would cost a handshake.
    if (sw.why == Why::Misses && sw.fresh && sw.to != active_ && gw_[sw.to].linked) sw.now = false;
    return sw;
}

// The links the monitor keeps: the active gateway and the standby. Returns the ones to start.
u32 Machine::relink(u64 now, u32* stop_mask) {
    int const sb = standby();
    u32 start = 0;
    for (u32 g = 0; g < count_; ++g) {
        bool const want = g == active_ || static_cast<int>(g) == sb;
        if (want == gw_[g].linked) continue;
        gw_[g].linked = want;
        reset(g, now);
        if (want) start |= 1u << g;
        else *stop_mask |= 1u << g;
    }
    return start;
}

Step Machine::poll(u64 now) {
    count_misses(now);
    Step st{};
    st.sw = decide(now);
    if (st.sw.now) {
        active_ = st.sw.to;
        ++failovers_;
        if (st.sw.fresh && gw_[active_].linked) {
            reset(active_, now);
            st.start_mask |= 1u << active_;
        }
    }
    st.start_mask |= relink(now, &st.stop_mask);
    for (u32 g = 0; g < count_; ++g) {
        GatewayState& s = gw_[g];
        if (!s.linked || s.live == Liveness::NoSa) continue;
        if (s.live == Liveness::Dead && now - s.since_ms >= p_.setup_ms) {  // a stale SA: IKE anew
            reset(g, now);
            st.start_mask |= 1u << g;
            continue;
        }
        if (!p_.ping || now - s.sent_ms < interval(g)) continue;
        ++s.seq;
        ++s.pings;
        s.sent_ms = now;
        s.waiting = true;
        st.ping_mask |= 1u << g;
        st.seq[g] = s.seq;
    }
    return st;
}

}  // namespace tv::vpn::failover
