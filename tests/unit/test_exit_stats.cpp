// Device counters in core/exit_stats: sources are listed one after another, after nothing
// else (the exit counters keep their indexes), and the registry refuses what it cannot hold.
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
    u32 const exit_counters = stats_counter_count();
    char name[17];
    u64 value = 0;
    EXPECT_FALSE(stats_device_counter(0, name, &value));  // none yet

    static Source a{'a', 100}, b{'b', 200};
    ASSERT_TRUE(stats_device_counters_register(2, fill, &a));
    ASSERT_TRUE(stats_device_counters_register(3, fill, &b));
    EXPECT_EQ(stats_counter_count(), exit_counters);  // device counters are not exit counters

    ASSERT_TRUE(stats_device_counter(1, name, &value));
    EXPECT_STREQ(name, "a.1");
    EXPECT_EQ(value, 101u);
    ASSERT_TRUE(stats_device_counter(2, name, &value));
    EXPECT_STREQ(name, "b.0");
    EXPECT_EQ(value, 200u);
    ASSERT_TRUE(stats_device_counter(4, name, &value));
    EXPECT_STREQ(name, "b.2");
    EXPECT_FALSE(stats_device_counter(5, name, &value));

    for (u32 i = 2; i < kMaxDeviceCounterSources; ++i) EXPECT_TRUE(stats_device_counters_register(0, fill, &a));
    EXPECT_FALSE(stats_device_counters_register(1, fill, &a));
    EXPECT_FALSE(stats_device_counter(5, name, &value));  // empty sources add nothing
}
