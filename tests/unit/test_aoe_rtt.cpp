// Retransmission timeout estimation (RFC 6298 arithmetic, bounds, exponential backoff).
#include <gtest/gtest.h>

#include "aoe/rtt.hpp"

using namespace tv;
using namespace tv::aoe;

namespace {
RttEstimator make(u64 initial = 100'000, u64 min = 1'000, u64 max = 2'000'000) {
    RttEstimator r;
    r.init(RtoBounds{initial, min, max});
    return r;
}
}  // namespace

TEST(AoeRtt, InitialTimeoutIsUsedBeforeAnySample) {
    RttEstimator r = make(250'000);
    EXPECT_FALSE(r.has_sample());
    EXPECT_EQ(r.rto_us(), 250'000u);
}

TEST(AoeRtt, FirstSampleSetsSrttAndHalfOfItAsVariance) {
    RttEstimator r = make();
    r.sample(8'000);
    EXPECT_EQ(r.srtt_us(), 8'000u);
    EXPECT_EQ(r.rttvar_us(), 4'000u);
    EXPECT_EQ(r.rto_us(), 8'000u + 4 * 4'000u);
}

TEST(AoeRtt, SteadyRoundTripsShrinkTheTimeoutTowardsTheRoundTrip) {
    RttEstimator r = make();
    for (int i = 0; i < 200; ++i)
        r.sample(10'000);
    EXPECT_EQ(r.srtt_us(), 10'000u);
    EXPECT_LT(r.rttvar_us(), 100u);
    EXPECT_LT(r.rto_us(), 10'500u);
    EXPECT_GE(r.rto_us(), 10'000u);
}

TEST(AoeRtt, JitterRaisesTheTimeoutAboveTheMean) {
    RttEstimator r = make();
    for (int i = 0; i < 200; ++i)
        r.sample(i % 2 == 0 ? 5'000 : 15'000);
    EXPECT_NEAR(static_cast<double>(r.srtt_us()), 10'000.0, 1'500.0);
    EXPECT_GT(r.rto_us(), 25'000u);  // about mean + 4 * 5 ms
}

TEST(AoeRtt, TimeoutStaysWithinItsBounds) {
    RttEstimator r = make(100'000, 5'000, 50'000);
    r.sample(10);
    for (int i = 0; i < 100; ++i)
        r.sample(10);
    EXPECT_EQ(r.rto_us(), 5'000u);
    r.sample(10'000'000);
    EXPECT_EQ(r.rto_us(), 50'000u);
}

TEST(AoeRtt, BackoffDoublesPerRetransmissionUpToTheMaximum) {
    RttEstimator r = make(100'000, 1'000, 1'000'000);
    EXPECT_EQ(r.backed_off_us(0), 100'000u);
    EXPECT_EQ(r.backed_off_us(1), 200'000u);
    EXPECT_EQ(r.backed_off_us(3), 800'000u);
    EXPECT_EQ(r.backed_off_us(4), 1'000'000u);
    EXPECT_EQ(r.backed_off_us(200), 1'000'000u);  // no overflow
}

TEST(AoeRtt, PacedSamplesAreTakenAtMostOncePerSmoothedRoundTrip) {
    RttEstimator r = make();
    EXPECT_TRUE(r.sample_paced(10'000, 100'000));   // the first always
    EXPECT_FALSE(r.sample_paced(1'000, 105'000));   // within one SRTT (10 ms) of it
    EXPECT_EQ(r.samples(), 1u);
    EXPECT_TRUE(r.sample_paced(1'000, 110'000));
    EXPECT_EQ(r.samples(), 2u);
}

TEST(AoeRtt, AStallIsRememberedAcrossAWindowOfFastAnswers) {
    RttEstimator r = make(100'000, 1'000);
    u64 now = 0;
    for (int i = 0; i < 50; ++i)
        (void)r.sample_paced(1'000, now += 1'000);
    r.sample(30'000);  // a late first answer after a stall
    u64 const after_stall = r.rto_us();
    EXPECT_GT(after_stall, 30'000u);
    // Sixteen frames answered within the next millisecond: one sample, not sixteen.
    for (int i = 0; i < 16; ++i)
        (void)r.sample_paced(1'000, now + 1'000 + static_cast<u64>(i) * 50);
    EXPECT_GT(r.rto_us(), 20'000u);
}
