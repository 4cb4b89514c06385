// The one guest-memory rule (core/device/guest_memory) at its edges: the monitor's first and
// last byte, ranges that wrap, ranges that straddle RAM and a hole, MAXPHYADDR; and the copies
// it allows, through a buffer standing in for the direct map.
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "core/device/guest_memory.hpp"

using namespace tv;

namespace {

constexpr u64 kMiB = 1ull << 20, kGiB = 1ull << 30;
constexpr u64 kMonBase = 0x1DE00000, kMonSize = 32 * kMiB, kMonEnd = kMonBase + kMonSize;
constexpr u64 kLowUsableEnd = 0x1FFDF000;  // QEMU's 512 MiB machine: SeaBIOS reserves the rest

// A PC's map as SeaBIOS reports it, with 512 MiB above 4 GiB too.
MemoryMap pc_map() {
    MemoryMap m;
    EXPECT_TRUE(ok(m.add(0, 0x9FC00, MemType::Usable)));
    EXPECT_TRUE(ok(m.add(0x9FC00, 0x400, MemType::Reserved)));
    EXPECT_TRUE(ok(m.add(0xF0000, 0x10000, MemType::Reserved)));
    EXPECT_TRUE(ok(m.add(kMiB, kLowUsableEnd - kMiB, MemType::Usable)));
    EXPECT_TRUE(ok(m.add(kLowUsableEnd, 0x20000000 - kLowUsableEnd, MemType::Reserved)));
    EXPECT_TRUE(ok(m.add(0xFEFFC000, 0x4000, MemType::Reserved)));
    EXPECT_TRUE(ok(m.add(4 * kGiB, 512 * kMiB, MemType::Usable)));
    m.normalize();
    return m;
}

class GuestMemoryTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(ok(mem.init(pc_map(), kMonBase, kMonSize, 39, ram.data()))); }
    bool ok_at(u64 gpa, u64 len) const { return mem.ok(Gpa{gpa}, len); }

    std::vector<u8> ram = std::vector<u8>(2 * kMiB, 0);  // guest-physical [0, 2 MiB)
    GuestMemory mem;
};

TEST_F(GuestMemoryTest, MonitorFirstAndLastByteAreRefused) {
    EXPECT_TRUE(ok_at(kMonBase - 1, 1));
    EXPECT_FALSE(ok_at(kMonBase, 1));
    EXPECT_FALSE(ok_at(kMonBase - 1, 2));  // the last guest byte and the monitor's first
    EXPECT_FALSE(ok_at(kMonEnd - 1, 1));
    EXPECT_FALSE(ok_at(kMonEnd - 1, 2));
    EXPECT_TRUE(ok_at(kMonEnd, 1));
    EXPECT_FALSE(ok_at(kMonBase - kMiB, 4 * kMiB));  // a span over the whole region
}

TEST_F(GuestMemoryTest, RangesAreListedInOrderWithTheMonitorCutOut) {
    u64 base, end;
    std::vector<std::pair<u64, u64>> got;
    for (size_t i = 0; mem.range(i, &base, &end); ++i) got.emplace_back(base, end);
    EXPECT_EQ(got, (std::vector<std::pair<u64, u64>>{{0, 0xA0000},
                                                     {0xC0000, kMonBase},
                                                     {kMonEnd, 0x20000000},
                                                     {4 * kGiB, 4 * kGiB + 512 * kMiB}}));
}

TEST_F(GuestMemoryTest, RangesThatWrapOrAreEmptyAreRefused) {
    EXPECT_FALSE(ok_at(~0ull - 3, 8));
    EXPECT_FALSE(ok_at(0x1000, ~0ull));
    EXPECT_FALSE(ok_at(0x1000, 0));
}

TEST_F(GuestMemoryTest, RangesStraddlingRamAndAHoleAreRefused) {
    // The legacy VGA window is a device.
    EXPECT_TRUE(ok_at(0x9FFFF, 1));
    EXPECT_FALSE(ok_at(0x9FFFF, 2));
    EXPECT_FALSE(ok_at(0xA0000, 1));
    EXPECT_FALSE(ok_at(0xBFFFF, 2));
    EXPECT_TRUE(ok_at(0xC0000, 0x40000));  // option ROMs and the BIOS: RAM in every PC
    // The firmware's reserved tail of low RAM is RAM up to the 2 MiB boundary, then the PCI hole.
    EXPECT_TRUE(ok_at(kLowUsableEnd - 0x1000, 0x2000));
    EXPECT_TRUE(ok_at(0x1FFFF000, 0x1000));
    EXPECT_FALSE(ok_at(0x1FFFF000, 0x1001));
    EXPECT_FALSE(ok_at(0xFEFFC000, 4));  // a reserved range above low RAM is not RAM
    // RAM above 4 GiB starts exactly there and ends where the firmware says.
    EXPECT_FALSE(ok_at(4 * kGiB - 1, 2));
    EXPECT_TRUE(ok_at(4 * kGiB, 512 * kMiB));
    EXPECT_FALSE(ok_at(4 * kGiB + 512 * kMiB - 1, 2));
}

TEST(GuestMemory, NothingAtOrAboveMaxPhyAddr) {
    MemoryMap m;
    ASSERT_TRUE(ok(m.add(0, 1ull << 40, MemType::Usable)));  // firmware claiming more than the CPU reaches
    m.normalize();
    GuestMemory mem;
    ASSERT_TRUE(ok(mem.init(m, kMonBase, kMonSize, 36, nullptr)));
    EXPECT_EQ(mem.maxphyaddr(), 36);
    EXPECT_TRUE(mem.ok(Gpa{(1ull << 36) - 1}, 1));
    EXPECT_FALSE(mem.ok(Gpa{1ull << 36}, 1));
    EXPECT_FALSE(mem.ok(Gpa{(1ull << 36) - 1}, 2));
}

TEST(GuestMemory, AdjacentRamOfDifferentTypesIsOneRun) {
    MemoryMap m;
    ASSERT_TRUE(ok(m.add(kMiB, kMiB, MemType::Usable)));
    ASSERT_TRUE(ok(m.add(2 * kMiB, kMiB, MemType::AcpiNvs)));
    ASSERT_TRUE(ok(m.add(3 * kMiB, kMiB, MemType::AcpiReclaim)));
    m.normalize();
    GuestMemory mem;
    ASSERT_TRUE(ok(mem.init(m, 64 * kMiB, kMonSize, 39, nullptr)));
    EXPECT_TRUE(mem.ok(Gpa{2 * kMiB - 8}, 16));
    EXPECT_TRUE(mem.ok(Gpa{kMiB}, 3 * kMiB));
}

TEST_F(GuestMemoryTest, CopiesReachOnlyWhatTheRuleAllows) {
    u8 const pattern[4] = {1, 2, 3, 4};
    ASSERT_TRUE(mem.write(Gpa{0x1000}, pattern, 4));
    EXPECT_EQ(memcmp(&ram[0x1000], pattern, 4), 0);
    u8 back[4]{};
    ASSERT_TRUE(mem.read(Gpa{0x1000}, back, 4));
    EXPECT_EQ(memcmp(back, pattern, 4), 0);
    // A refused copy touches nothing, not even the allowed bytes before the hole.
    ASSERT_FALSE(mem.write(Gpa{0x9FFFE}, pattern, 4));
    EXPECT_EQ(ram[0x9FFFE], 0);
    EXPECT_EQ(ram[0x9FFFF], 0);
    EXPECT_EQ(mem.ptr(Gpa{0xA0000}, 1), nullptr);
    EXPECT_EQ(mem.ptr(Gpa{0x2000}, 16), ram.data() + 0x2000);
}

// As many separate RAM ranges as a firmware map can hold all fit, so no RAM is dropped.
TEST(GuestMemory, EveryRangeOfAFullMapFits) {
    MemoryMap m;
    for (u64 i = 0; i < MemoryMap::kMaxEntries; ++i)
        ASSERT_TRUE(ok(m.add(8 * kGiB + i * 2 * kMiB, kMiB, i % 2 ? MemType::Usable : MemType::AcpiNvs)));
    m.normalize();
    GuestMemory mem;
    ASSERT_TRUE(ok(mem.init(m, kMonBase, kMonSize, 48, nullptr)));
    for (u64 i = 0; i < MemoryMap::kMaxEntries; ++i) {
        EXPECT_TRUE(mem.ok(Gpa{8 * kGiB + i * 2 * kMiB}, kMiB)) << i;
        EXPECT_FALSE(mem.ok(Gpa{8 * kGiB + i * 2 * kMiB + kMiB - 1}, 2)) << i;
    }
}

}  // namespace
