// The guest must not find a virtualization extension in CPUID.
#include <gtest/gtest.h>

#include "core/handlers/cpu_handlers.hpp"

using namespace tv;

TEST(CpuidFilter, HidesSvmFeatureBit) {
    u32 a = 0, b = 0, c = 0xFFFFFFFF, d = 0xFFFFFFFF;
    filter_cpuid(0x80000001, &a, &b, &c, &d);
    EXPECT_EQ(c & (1u << 2), 0u);
    EXPECT_EQ(c | (1u << 2), 0xFFFFFFFFu);  // nothing else touched
    EXPECT_EQ(d, 0xFFFFFFFFu);
}

TEST(CpuidFilter, HidesVmxFeatureBit) {
    u32 a = 0, b = 0, c = 0xFFFFFFFF, d = 0xFFFFFFFF;
    filter_cpuid(1, &a, &b, &c, &d);
    EXPECT_EQ(c & (1u << 5), 0u);
    EXPECT_EQ(c | (1u << 5), 0xFFFFFFFFu);
}

TEST(CpuidFilter, SvmLeafReadsAllZero) {
    u32 a = 1, b = 8, c = 3, d = 0xFF;
    filter_cpuid(0x8000000A, &a, &b, &c, &d);
    EXPECT_EQ(a | b | c | d, 0u);
}

TEST(CpuidFilter, OtherLeavesPassUnchanged) {
    u32 a = 0x12, b = 0x34, c = 0x56, d = 0x78;
    filter_cpuid(0x7, &a, &b, &c, &d);
    EXPECT_EQ(a, 0x12u);
    EXPECT_EQ(b, 0x34u);
    EXPECT_EQ(c, 0x56u);
    EXPECT_EQ(d, 0x78u);
}
