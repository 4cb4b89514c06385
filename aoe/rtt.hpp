// Retransmission timeout from measured round trips, the way TCP does it (RFC 6298): a smoothed
// round-trip time and its mean deviation, RTO = SRTT + 4 * RTTVAR, clamped to [min, max], and
// doubled for every retransmission of the same frame.
#pragma once

#include "core/types.hpp"

namespace tv::aoe {

struct RtoBounds {
    u64 initial_us;  // before the first sample
    u64 min_us;
    u64 max_us;
};

class RttEstimator {
  public:
    void init(RtoBounds const& b);

    // One unambiguous round trip (a reply to the latest transmission of a frame).
    void sample(u64 rtt_us);
    // The same, at most once per smoothed round trip (`now_us` is when it was measured).
    // RFC 6298's gains assume one sample per round trip, as TCP times one segment at a time;
    // a window of N frames answered in one round trip would otherwise age RTTVAR N times
    // faster, and the timeout would forget a stall of the host or the target within one
    // window and retransmit at the next. False when the sample was not taken.
    bool sample_paced(u64 rtt_us, u64 now_us);

    u64 rto_us() const { return rto_; }
    // The timeout for the n-th retransmission (0: first transmission): RTO * 2^n, capped.
    u64 backed_off_us(u32 retransmissions) const;

    bool has_sample() const { return samples_ != 0; }
    u64 srtt_us() const { return srtt8_ / 8; }
    u64 rttvar_us() const { return rttvar4_ / 4; }
    u64 samples() const { return samples_; }

  private:
    u64 clamp(u64 v) const {
        return v < bounds_.min_us ? bounds_.min_us : v > bounds_.max_us ? bounds_.max_us : v;
    }

    RtoBounds bounds_{};
    u64 srtt8_{0};    // SRTT * 8, so the 1/8 gain keeps its fraction
    u64 rttvar4_{0};  // RTTVAR * 4, for the 1/4 gain
    u64 rto_{0};
    u64 samples_{0};
    u64 last_sample_us_{0};
};

}  // namespace tv::aoe
