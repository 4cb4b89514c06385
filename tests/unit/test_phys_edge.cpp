// A nested fault at the edge of the guest-physical address space never panics the monitor.
#include <gtest/gtest.h>

#include "core/handlers/phys_edge.hpp"

using namespace tv;

namespace {
constexpr u64 kLimit = 4ull << 30;  // what the monitor identity-maps up front
}

TEST(PhysEdge, EndIsTheSmallerOfMaxphyaddrAndTheNestedReach) {
    EXPECT_EQ(phys_end(36), 1ull << 36);
    EXPECT_EQ(phys_end(40), 1ull << 40);
    EXPECT_EQ(phys_end(48), 1ull << 48);
    EXPECT_EQ(phys_end(52), 1ull << 48);  // four levels translate 48 bits
    EXPECT_EQ(phys_end(64), 1ull << 48);
}

TEST(PhysEdge, FaultAtOrAbove2To48IsNothingThereWhateverTheCpu) {
    for (u32 bits : {40u, 46u, 48u, 52u}) {
        u64 const end = phys_end(bits);
        EXPECT_EQ(classify_high_fault(1ull << 48, false, kLimit, end), HighFault::NothingThere) << bits;
        EXPECT_EQ(classify_high_fault(~0ull, false, kLimit, end), HighFault::NothingThere) << bits;
        EXPECT_EQ(classify_high_fault((1ull << 48) + 0x1000, true, kLimit, end), HighFault::NothingThere) << bits;
    }
}

TEST(PhysEdge, FaultAboveMaxphyaddrIsNothingThere) {
    u64 const end = phys_end(40);
    EXPECT_EQ(classify_high_fault(1ull << 40, false, kLimit, end), HighFault::NothingThere);
    EXPECT_EQ(classify_high_fault((1ull << 40) - 1, false, kLimit, end), HighFault::MapOnDemand);
}

TEST(PhysEdge, HighDeviceMemoryIsMappedOnDemand) {
    EXPECT_EQ(classify_high_fault(kLimit, false, kLimit, phys_end(40)), HighFault::MapOnDemand);
    EXPECT_EQ(classify_high_fault(0x38000000000ull, false, kLimit, phys_end(46)), HighFault::MapOnDemand);
}

TEST(PhysEdge, PermissionFaultsAndFaultsBelowTheLimitHaveNoRule) {
    EXPECT_EQ(classify_high_fault(kLimit, true, kLimit, phys_end(40)), HighFault::Unexpected);
    EXPECT_EQ(classify_high_fault(0x100000, false, kLimit, phys_end(40)), HighFault::Unexpected);
}

TEST(PhysEdge, TheCpusEndIsNeverAbove2To48) {
    EXPECT_LE(cpu_phys_end(), 1ull << 48);
    EXPECT_GE(cpu_phys_end(), 1ull << 32);
    EXPECT_TRUE(beyond_physical(1ull << 48));
    EXPECT_FALSE(beyond_physical(0xFEE00000));
}
