#include "core/apic_icr.hpp"

#include <gtest/gtest.h>

using namespace tv;

TEST(SmpIcr, DecodesLinuxInitAssert) {
    // Linux: APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT, physical APIC ID 2.
    Icr i = icr_decode_xapic(0xC500, 2u << 24);
    EXPECT_EQ(i.delivery, IcrDelivery::Init);
    EXPECT_TRUE(i.level);
    EXPECT_TRUE(i.assert_);
    EXPECT_FALSE(i.logical);
    EXPECT_EQ(i.shorthand, IcrShorthand::None);
    EXPECT_EQ(i.dest, 2u);
    EXPECT_TRUE(icr_is_start_signal(i));
    EXPECT_FALSE(icr_is_init_deassert(i));
}

TEST(SmpIcr, InitDeassertIsRecognised) {
    Icr i = icr_decode_xapic(0x8500, 1u << 24);
    EXPECT_TRUE(icr_is_init_deassert(i));
}

TEST(SmpIcr, DecodesStartupVector) {
    Icr i = icr_decode_xapic(0x0699, 3u << 24);
    EXPECT_EQ(i.delivery, IcrDelivery::StartUp);
    EXPECT_EQ(i.vector, 0x99);
    EXPECT_EQ(i.dest, 3u);
}

TEST(SmpIcr, FixedIpiIsNotAStartSignal) {
    Icr i = icr_decode_xapic(0x00FD, 1u << 24);
    EXPECT_EQ(i.delivery, IcrDelivery::Fixed);
    EXPECT_FALSE(icr_is_start_signal(i));
    EXPECT_FALSE(icr_is_start_signal(icr_decode_xapic(0x04FD, 0)));  // NMI
}

TEST(SmpIcr, X2apicDestinationIsTheHighDword) {
    Icr i = icr_decode_x2apic((7ull << 32) | 0x0610);
    EXPECT_EQ(i.delivery, IcrDelivery::StartUp);
    EXPECT_EQ(i.vector, 0x10);
    EXPECT_EQ(i.dest, 7u);
    EXPECT_TRUE(icr_targets(i, 7, false, true));
    EXPECT_FALSE(icr_targets(i, 6, false, true));
}

TEST(SmpIcr, ShorthandsSelectTargets) {
    Icr all_but = icr_decode_xapic(0x000C4500, 0);  // INIT, all excluding self (SeaBIOS style)
    EXPECT_EQ(all_but.shorthand, IcrShorthand::AllExcludingSelf);
    EXPECT_FALSE(icr_targets(all_but, 0, true, false));
    EXPECT_TRUE(icr_targets(all_but, 1, false, false));
    Icr all = icr_decode_xapic(0x00084500, 0);
    EXPECT_TRUE(icr_targets(all, 0, true, false));
    EXPECT_TRUE(icr_targets(all, 5, false, false));
    Icr self = icr_decode_xapic(0x00044500, 0);
    EXPECT_TRUE(icr_targets(self, 0, true, false));
    EXPECT_FALSE(icr_targets(self, 1, false, false));
}

TEST(SmpIcr, PhysicalBroadcastAndLogicalMode) {
    EXPECT_TRUE(icr_targets(icr_decode_xapic(0x4500, 0xFFu << 24), 3, false, false));
    EXPECT_FALSE(icr_targets(icr_decode_xapic(0x4500, 0xFFu << 24), 3, false, true));  // x2APIC: 0xFF is an ID
    EXPECT_TRUE(icr_targets(icr_decode_x2apic(0xFFFFFFFF00004500ull), 9, false, true));
    Icr logical = icr_decode_xapic(0x4D00, 1u << 24);
    EXPECT_TRUE(logical.logical);
    EXPECT_FALSE(icr_targets(logical, 0, false, false)) << "LDR still 0 after reset: no logical ID";
}

TEST(SmpIcr, XapicLogicalFlatIsAMaskOfLogicalIds) {
    // Linux's flat mode: CPU n gets logical ID 1 << n in LDR bits 31:24, DFR all ones.
    ApicDest const cpu0{0, 0x01u << 24}, cpu1{1, 0x02u << 24}, cpu2{2, 0x04u << 24};
    Icr const to1 = icr_decode_xapic(0x4D00, 0x02u << 24);  // INIT, logical, destination 0x02
    EXPECT_FALSE(icr_targets(to1, cpu0, true, false));
    EXPECT_TRUE(icr_targets(to1, cpu1, false, false));
    EXPECT_FALSE(icr_targets(to1, cpu2, false, false));
    Icr const to12 = icr_decode_xapic(0x0E99, 0x06u << 24);  // SIPI vector 0x99 to 1 and 2
    EXPECT_TRUE(icr_targets(to12, cpu1, false, false));
    EXPECT_TRUE(icr_targets(to12, cpu2, false, false));
    EXPECT_TRUE(icr_targets(icr_decode_xapic(0x4D00, 0xFFu << 24), ApicDest{5}, false, false)) << "0xFF: all";
    EXPECT_FALSE(icr_targets(icr_decode_xapic(0x4D00, 0), cpu1, false, false)) << "an empty mask: nobody";
}

TEST(SmpIcr, XapicLogicalCluster) {
    constexpr u32 kCluster = 0x0FFFFFFF;  // DFR model 0
    ApicDest const c1a{4, 0x11u << 24, kCluster}, c1b{5, 0x12u << 24, kCluster}, c2a{8, 0x21u << 24, kCluster};
    Icr const i = icr_decode_xapic(0x4D00, 0x13u << 24);  // cluster 1, members 1 and 2
    EXPECT_TRUE(icr_targets(i, c1a, false, false));
    EXPECT_TRUE(icr_targets(i, c1b, false, false));
    EXPECT_FALSE(icr_targets(i, c2a, false, false)) << "same member bit, other cluster";
    EXPECT_TRUE(icr_targets(icr_decode_xapic(0x4D00, 0xFFu << 24), c2a, false, false));
    EXPECT_FALSE(icr_targets(i, ApicDest{4, 0x11u << 24, 0x5FFFFFFF}, false, false)) << "a reserved model";
}

TEST(SmpIcr, X2apicLogicalClusterFromTheApicId) {
    // Logical ID = (APIC ID >> 4) << 16 | 1 << (APIC ID & 15); LDR and DFR play no part.
    Icr const i = icr_decode_x2apic((0x00010006ull << 32) | 0x4D00);  // cluster 1, members 1, 2
    EXPECT_TRUE(icr_targets(i, ApicDest{17}, false, true));
    EXPECT_TRUE(icr_targets(i, ApicDest{18}, false, true));
    EXPECT_FALSE(icr_targets(i, ApicDest{1}, false, true)) << "member 1 of cluster 0";
    EXPECT_FALSE(icr_targets(i, ApicDest{19}, false, true));
    EXPECT_TRUE(icr_targets(icr_decode_x2apic(0xFFFFFFFF00004D00ull), ApicDest{40}, false, true));
}
