// Configuration mechanism #1 addresses, the configuration-hook router, and the decision
// whether a guest BAR write moved the device.
#include <gtest/gtest.h>

#include "drivers/pci/config_hooks.hpp"
#include "drivers/pci/pci.hpp"

using namespace tv;
using namespace tv::pci;

namespace {
ConfigAction handled(void*, Vcpu&, Bdf, u16, u8, bool, u32*) { return ConfigAction::Handled; }
ConfigHook hook(Bdf b, u16 first, u16 count) { return ConfigHook{b, first, count, handled, nullptr, "t", 0, nullptr}; }
}  // namespace

TEST(PciConfigAddress, EncodesAndDecodesBusDeviceFunctionAndRegister) {
    Bdf const b{0x12, 0x1F, 2};
    u32 const a = config_address(b, 0x24);
    EXPECT_EQ(a, 0x8012FA24u);
    ConfigAccess const c = decode_config_address(a, 0xCFE);
    EXPECT_TRUE(c.enabled);
    EXPECT_EQ(c.bdf, b);
    EXPECT_EQ(c.reg, 0x26);  // the data port's low bits select the byte
}

TEST(PciConfigAddress, DisabledAddressAndExtendedRegisterBits) {
    EXPECT_FALSE(decode_config_address(0x0012FA24, 0xCFC).enabled);
    u32 const ext = config_address(Bdf{0, 3, 0}, 0x124);  // AMD extended: register bits 11:8 in 27:24
    EXPECT_EQ(ext, 0x81001824u);
    EXPECT_EQ(decode_config_address(ext, 0xCFC).reg, 0x124);
}

TEST(PciConfigRouter, AnAccessReachesTheHookWhoseRangeItOverlaps) {
    ConfigRouter r;
    ASSERT_EQ(r.add(hook({0, 2, 0}, 0x10, 4)), Status::Ok);
    ASSERT_EQ(r.add(hook({0, 3, 0}, 0x10, 8)), Status::Ok);  // same registers, another function
    EXPECT_NE(r.find({0, 2, 0}, 0x10, 4), nullptr);
    EXPECT_NE(r.find({0, 2, 0}, 0x12, 2), nullptr);  // a word inside
    EXPECT_NE(r.find({0, 2, 0}, 0x0E, 4), nullptr);  // a dword sticking into it (unaligned)
    EXPECT_EQ(r.find({0, 2, 0}, 0x14, 4), nullptr);
    EXPECT_EQ(r.find({0, 2, 0}, 0x0C, 4), nullptr);
    EXPECT_EQ(r.find({0, 2, 1}, 0x10, 4), nullptr);
    EXPECT_EQ(r.find({0, 3, 0}, 0x14, 4)->count, 8);
}

TEST(PciConfigRouter, RefusesOverlapsEmptyRangesAndRangesPastConfigSpace) {
    ConfigRouter r;
    ASSERT_EQ(r.add(hook({0, 2, 0}, 0x10, 8)), Status::Ok);
    EXPECT_EQ(r.add(hook({0, 2, 0}, 0x14, 4)), Status::Exists);
    EXPECT_EQ(r.add(hook({0, 2, 0}, 0x18, 0)), Status::Invalid);
    EXPECT_EQ(r.add(hook({0, 2, 0}, 0xFFC, 8)), Status::Invalid);
    EXPECT_EQ(r.add(hook({0, 2, 0}, 0x18, 4)), Status::Ok);  // adjacent is fine
    EXPECT_EQ(r.count(), 2u);
}

TEST(PciConfigRouter, IsFullAfterItsCapacity) {
    ConfigRouter r;
    for (size_t i = 0; i < ConfigRouter::kMaxHooks; ++i)
        ASSERT_EQ(r.add(hook({0, static_cast<u8>(i), 0}, 0x10, 4)), Status::Ok);
    EXPECT_EQ(r.add(hook({1, 0, 0}, 0x10, 4)), Status::NoMemory);
}

TEST(PciBarFollow, ARealMoveOfA32BitBarIsReported) {
    Bar const b{BarKind::Mem32, false, 0xFEBF1000, 0x1000, 0x24};
    u64 nb = 0;
    EXPECT_TRUE(bar_moved(b, 0xFEBF1000, 0xFEBF8000, 0, &nb));
    EXPECT_EQ(nb, 0xFEBF8000u);
    EXPECT_FALSE(bar_moved(b, 0xFEBF8000, 0xFEBF8000, 0, &nb));  // where it already is
}

TEST(PciBarFollow, SizingAndUnassignedValuesAreNotMoves) {
    Bar const b{BarKind::Mem32, false, 0xFEBF1000, 0x1000, 0x24};
    u64 nb = 0;
    EXPECT_FALSE(bar_moved(b, 0xFEBF1000, 0xFFFFF000, 0, &nb));  // all ones written: sizing
    EXPECT_FALSE(bar_moved(b, 0xFEBF1000, 0x00000000, 0, &nb));  // cleared
    Bar const io{BarKind::Io, false, 0xC000, 0x20, 0x20};
    EXPECT_FALSE(bar_moved(io, 0xC000, 0xD001, 0, &nb));  // I/O BARs are not MMIO hooks
}

TEST(PciBarFollow, SixtyFourBitBarsCombineBothHalvesAndIgnoreEitherBeingSized) {
    Bar const b{BarKind::Mem64, false, 0x8'0000'0000ull, 0x4000, 0x10};
    u64 nb = 0;
    EXPECT_TRUE(bar_moved(b, 0x8'0000'0000ull, 0x00004004, 0x9, &nb));
    EXPECT_EQ(nb, 0x9'0000'4000ull);
    EXPECT_FALSE(bar_moved(b, 0x8'0000'0000ull, 0xFFFFC004, 0x8, &nb));  // lower half sized
    EXPECT_FALSE(bar_moved(b, 0x8'0000'0000ull, 0x00000004, 0xFFFFFFFF, &nb));  // upper half sized
    Bar const huge{BarKind::Mem64, false, 0x40'0000'0000ull, 0x10'0000'0000ull, 0x10};
    EXPECT_TRUE(bar_moved(huge, 0x40'0000'0000ull, 0x0000000C, 0x50, &nb));  // no low address bits at all
    EXPECT_EQ(nb, 0x50'0000'0000ull);
}
