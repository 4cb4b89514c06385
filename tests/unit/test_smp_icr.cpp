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
    EXPECT_FALSE(icr_targets(logical, 0, false, false));
}
