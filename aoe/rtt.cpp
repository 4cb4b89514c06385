#include "aoe/rtt.hpp"

namespace tv::aoe {

void RttEstimator::init(RtoBounds const& b) {
    bounds_ = b;
    if (bounds_.max_us < bounds_.min_us)
        bounds_.max_us = bounds_.min_us;
    srtt8_ = rttvar4_ = samples_ = last_sample_us_ = 0;
    rto_ = clamp(b.initial_us);
}

void RttEstimator::sample(u64 rtt_us) {
    if (rtt_us > bounds_.max_us)  // bound the arithmetic; such a sample clamps anyway
        rtt_us = bounds_.max_us;
    if (samples_++ == 0) {
        srtt8_ = rtt_us * 8;
        rttvar4_ = rtt_us * 2;  // RTTVAR = R / 2
    } else {
        u64 const srtt = srtt8_ / 8;
        u64 const dev = srtt > rtt_us ? srtt - rtt_us : rtt_us - srtt;
        rttvar4_ = rttvar4_ - rttvar4_ / 4 + dev;  // RTTVAR += (|SRTT - R| - RTTVAR) / 4
        srtt8_ = srtt8_ - srtt8_ / 8 + rtt_us;     // SRTT += (R - SRTT) / 8
    }
    rto_ = clamp(srtt8_ / 8 + rttvar4_);
}

bool RttEstimator::sample_paced(u64 rtt_us, u64 now_us) {
    if (samples_ != 0 && now_us - last_sample_us_ < srtt8_ / 8)
        return false;
    last_sample_us_ = now_us;
    sample(rtt_us);
    return true;
}

u64 RttEstimator::backed_off_us(u32 retransmissions) const {
    u64 t = rto_;
    for (u32 i = 0; i < retransmissions && t < bounds_.max_us; ++i)
        t *= 2;
    return clamp(t);
}

}  // namespace tv::aoe
