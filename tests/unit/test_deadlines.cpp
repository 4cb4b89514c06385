#include <gtest/gtest.h>

#include "core/deadlines.hpp"

using tv::Deadlines;
using tv::u64;

namespace {
int g_a = 0, g_b = 0;
void job_a() { ++g_a; }
void job_b() { ++g_b; }

class DeadlinesTest : public ::testing::Test {
  protected:
    void SetUp() override { g_a = g_b = 0; }
    Deadlines d;
};
}  // namespace

TEST_F(DeadlinesTest, NoJobMeansNoDeadline) {
    EXPECT_EQ(d.next_us(), Deadlines::kNone);
    EXPECT_EQ(d.run_due(1'000'000), 0u);
}

TEST_F(DeadlinesTest, JobIsFirstDueOnePeriodAfterItsAddition) {
    ASSERT_TRUE(d.add(job_a, 10'000, 500));
    EXPECT_EQ(d.next_us(), 10'500u);
    EXPECT_EQ(d.run_due(10'499), 0u);
    EXPECT_EQ(g_a, 0);
    EXPECT_EQ(d.run_due(10'500), 1u);
    EXPECT_EQ(g_a, 1);
    EXPECT_EQ(d.next_us(), 20'500u);
}

TEST_F(DeadlinesTest, NextDeadlineIsTheEarliestOfAllJobs) {
    ASSERT_TRUE(d.add(job_a, 10'000, 0));
    ASSERT_TRUE(d.add(job_b, 3'000, 0));
    EXPECT_EQ(d.next_us(), 3'000u);
    EXPECT_EQ(d.run_due(3'000), 1u);
    EXPECT_EQ(g_b, 1);
    EXPECT_EQ(g_a, 0);
    EXPECT_EQ(d.next_us(), 6'000u);
}

TEST_F(DeadlinesTest, MissedPeriodsRunOnceAndRestartFromNow) {
    ASSERT_TRUE(d.add(job_a, 10'000, 0));
    EXPECT_EQ(d.run_due(95'000), 1u);  // nine periods missed: one run, no burst
    EXPECT_EQ(g_a, 1);
    EXPECT_EQ(d.next_us(), 105'000u);
    EXPECT_EQ(d.max_late_us(), 85'000u);
    EXPECT_EQ(d.late_runs(), 1u);
    EXPECT_EQ(d.runs_late_by(3), 1u);
}

TEST_F(DeadlinesTest, RunsAreCountedByHowLateTheyCame) {
    ASSERT_TRUE(d.add(job_a, 100'000, 0));
    (void)d.run_due(100'500);   // 0.5 ms
    (void)d.run_due(205'000);   // 5 ms
    (void)d.run_due(320'000);   // 20 ms
    (void)d.run_due(500'000);   // 100 ms
    EXPECT_EQ(d.runs_late_by(0), 1u);
    EXPECT_EQ(d.runs_late_by(1), 1u);
    EXPECT_EQ(d.runs_late_by(2), 1u);
    EXPECT_EQ(d.runs_late_by(3), 1u);
    EXPECT_EQ(d.runs_late_by(4), 0u);
}

TEST_F(DeadlinesTest, LatenessWithinAPeriodKeepsTheGrid) {
    ASSERT_TRUE(d.add(job_a, 10'000, 0));
    EXPECT_EQ(d.run_due(12'000), 1u);
    EXPECT_EQ(d.next_us(), 20'000u);  // not 22'000: a late tick does not drift the grid
    EXPECT_EQ(d.max_late_us(), 2'000u);
    EXPECT_EQ(d.late_runs(), 0u);
    EXPECT_EQ(d.runs(), 1u);
}

TEST_F(DeadlinesTest, TableRefusesJobsBeyondItsSizeAndBadOnes) {
    for (tv::u32 i = 0; i < Deadlines::kMaxJobs; ++i) ASSERT_TRUE(d.add(job_a, 1'000, 0));
    EXPECT_FALSE(d.add(job_b, 1'000, 0));
    Deadlines e;
    EXPECT_FALSE(e.add(nullptr, 1'000, 0));
    EXPECT_FALSE(e.add(job_a, 0, 0));
    EXPECT_TRUE(e.empty());
}

using tv::hold_off;
using tv::HoldOff;

TEST(DeadlinesHoldOff, UnderASecondLateIsNoHoldOff) {
    EXPECT_EQ(hold_off(1'999'999, 1'000'000, 0), HoldOff::None);
    EXPECT_EQ(hold_off(500, 1'000, 0), HoldOff::None);          // not due yet
    EXPECT_EQ(hold_off(5'000'000, Deadlines::kNone, 0), HoldOff::None);  // no job
}

TEST(DeadlinesHoldOff, NoExitForASecondIsTheGuests) {
    // The exit that ends the gap began just now: the time went by in the guest.
    EXPECT_EQ(hold_off(4'000'000, 1'000'000, 3'999'900), HoldOff::Guest);
}

TEST(DeadlinesHoldOff, ASecondSpentInOneExitsHandlerIsTheMonitorsOwnWait) {
    // An AoE disk command waited out its 5 s timeout inside the exit.
    EXPECT_EQ(hold_off(6'010'000, 1'000'000, 1'005'000), HoldOff::Monitor);
    EXPECT_EQ(hold_off(3'000'000, 1'000'000, 2'000'000), HoldOff::Monitor);  // half of it: the monitor
    EXPECT_EQ(hold_off(3'000'000, 1'000'000, 2'000'001), HoldOff::Guest);
}
