// Device counters in core/exit_stats: sources are listed one after another, after nothing
// else (the exit counters keep their indexes), and the registry refuses what it cannot hold.
// The registry under test is the test's own: the process-wide one holds whatever the install
// glue tests registered before (the AHCI mediator's counters), in whatever order they ran.
#include <gtest/gtest.h>
#include <stdio.h>
#include <string.h>

#include "core/exit_stats.hpp"

using namespace tv;

namespace {
struct Source {
    char prefix;
    u64 base;
};
bool fill(void* ctx, u32 i, char* name, u64* value) {
    auto const* s = static_cast<Source const*>(ctx);
    snprintf(name, 17, "%c.%u", s->prefix, i);
    *value = s->base + i;
    return true;
}
}  // namespace

TEST(ExitStatsDeviceCounters, SourcesFollowEachOtherAndTheRegistryFills) {
    DeviceCounterRegistry reg;
    char name[17];
    u64 value = 0;
    EXPECT_FALSE(reg.get(0, name, &value));  // none yet

    static Source a{'a', 100}, b{'b', 200};
    ASSERT_TRUE(reg.add(2, fill, &a));
    ASSERT_TRUE(reg.add(3, fill, &b));

    ASSERT_TRUE(reg.get(1, name, &value));
    EXPECT_STREQ(name, "a.1");
    EXPECT_EQ(value, 101u);
    ASSERT_TRUE(reg.get(2, name, &value));
    EXPECT_STREQ(name, "b.0");
    EXPECT_EQ(value, 200u);
    ASSERT_TRUE(reg.get(4, name, &value));
    EXPECT_STREQ(name, "b.2");
    EXPECT_FALSE(reg.get(5, name, &value));

    for (u32 i = 2; i < kMaxDeviceCounterSources; ++i) EXPECT_TRUE(reg.add(0, fill, &a));
    EXPECT_FALSE(reg.add(1, fill, &a));
    EXPECT_FALSE(reg.get(5, name, &value));  // empty sources add nothing
    EXPECT_FALSE(reg.add(1, nullptr, &a));
}

// The process-wide registry is what TV_HC_COUNTER reads: device counters come after the exit
// and event counters, never among them, whatever is registered there.
TEST(ExitStatsDeviceCounters, DeviceCountersAreNotExitCounters) {
    u32 const exit_counters = stats_counter_count();
    static Source c{'c', 300};
    (void)stats_device_counters_register(1, fill, &c);  // refused when the glue tests filled it
    EXPECT_EQ(stats_counter_count(), exit_counters);
    char const* name = nullptr;
    u64 value = 0;
    EXPECT_FALSE(stats_counter(exit_counters, &name, &value));
}
