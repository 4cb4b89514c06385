// Which caller may use which hypercall: the guest kernel everything, its processes only the
// functions that reveal no memory, and the hypercall port whatever the guest kernel allowed.
#include <gtest/gtest.h>

#include "core/handlers/hypercall_policy.hpp"
#include "thinvisor/hypercall.h"

using namespace tv;

namespace {
constexpr u64 kAll[] = {TV_HC_INFO, TV_HC_COUNTER, TV_HC_LOG_STATE, TV_HC_LOG_READ, TV_HC_MONITOR_RANGE, 0, 99};
}

TEST(HypercallPolicy, OnlyCpl0IsTheKernel) {
    EXPECT_EQ(hc_route_of_instruction(0), HcRoute::Kernel);
    for (u8 cpl = 1; cpl <= 3; ++cpl) EXPECT_EQ(hc_route_of_instruction(cpl), HcRoute::User) << int(cpl);
}

TEST(HypercallPolicy, UserModeMayNotReadTheLogOrTheMonitorsRange) {
    EXPECT_FALSE(hc_allowed(TV_HC_LOG_READ, HcRoute::User));
    EXPECT_FALSE(hc_allowed(TV_HC_LOG_STATE, HcRoute::User));
    EXPECT_FALSE(hc_allowed(TV_HC_MONITOR_RANGE, HcRoute::User));
    EXPECT_FALSE(hc_allowed(99, HcRoute::User));  // nothing new is open to user mode by default
}

TEST(HypercallPolicy, UserModeMayAskForPresenceAndCounters) {
    EXPECT_TRUE(hc_allowed(TV_HC_INFO, HcRoute::User));
    EXPECT_TRUE(hc_allowed(TV_HC_COUNTER, HcRoute::User));
}

TEST(HypercallPolicy, TheKernelAndThePortMayCallEverything) {
    for (u64 f : kAll) {
        EXPECT_TRUE(hc_allowed(f, HcRoute::Kernel)) << f;
        EXPECT_TRUE(hc_allowed(f, HcRoute::Port)) << f;
    }
}
