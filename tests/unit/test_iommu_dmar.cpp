// The DMAR parser (drivers/iommu/dmar): units and reserved ranges are read, and every malformed
// shape is refused whole (the monitor then falls back to the bus-master policy).
#include <gtest/gtest.h>

#include "drivers/iommu/dmar.hpp"
#include "tests/unit/dmar_table.hpp"

using namespace tv;
using namespace tv::iommu;
using tv::test::DmarTable;

namespace {
DmarError parse(DmarTable const& t, DmarInfo* info) { return dmar_parse(t.bytes().data(), t.bytes().size(), info); }
}  // namespace

TEST(IommuDmar, ReadsUnitsAndReservedRanges) {
    DmarTable t;
    t.drhd(0xFED90000, false, 0, DmarTable::endpoint(0, 2, 0)).drhd(0xFED91000, true).rmrr(0xE0000, 0xFFFFF,
                                                                                           DmarTable::endpoint(0, 0x14, 0));
    t.add(2, std::vector<u8>(8, 0));  // an ATSR: skipped
    DmarInfo info{};
    ASSERT_EQ(parse(t, &info), DmarError::None);
    EXPECT_EQ(info.address_width, 39);
    EXPECT_TRUE(info.intr_remap);
    ASSERT_EQ(info.unit_count, 2u);
    EXPECT_EQ(info.units[0].reg_base, 0xFED90000u);
    EXPECT_FALSE(info.units[0].include_all);
    EXPECT_TRUE(info.units[1].include_all);
    ASSERT_EQ(info.reserved_count, 1u);
    EXPECT_EQ(info.reserved[0].limit, 0xFFFFFu);
}

TEST(IommuDmar, RefusesTruncatedAndForeignTables) {
    DmarTable t;
    t.drhd(0xFED90000, true);
    DmarInfo info{};
    std::vector<u8> b = t.bytes();
    EXPECT_EQ(dmar_parse(b.data(), b.size() - 1, &info), DmarError::Short);  // the length field says more
    EXPECT_EQ(dmar_parse(b.data(), 40, &info), DmarError::Short);
    b[0] = 'X';
    EXPECT_EQ(dmar_parse(b.data(), b.size(), &info), DmarError::Signature);
    EXPECT_EQ(parse(DmarTable{}, &info), DmarError::NoUnit);
}

TEST(IommuDmar, RefusesMalformedStructures) {
    DmarInfo info{};
    EXPECT_EQ(parse(DmarTable{}.add(0, std::vector<u8>(16, 0), 2), &info), DmarError::Structure);    // length < 4
    EXPECT_EQ(parse(DmarTable{}.add(0, std::vector<u8>(16, 0), 200), &info), DmarError::Structure);  // past the end
    EXPECT_EQ(parse(DmarTable{}.add(0, std::vector<u8>(12, 0)), &info), DmarError::Structure);       // short DRHD
    EXPECT_EQ(parse(DmarTable{}.drhd(0xFED90800, true), &info), DmarError::Structure);  // unaligned registers
    EXPECT_EQ(parse(DmarTable{}.drhd(0, true), &info), DmarError::Structure);
    EXPECT_EQ(parse(DmarTable{}.drhd(0xFED90000, true, 0, {1, 7, 0, 0, 0, 0, 2}), &info),
              DmarError::Structure);  // a scope with an odd path
    EXPECT_EQ(parse(DmarTable{}.drhd(0xFED90000, true, 0, {1, 2, 0, 0, 0, 0}), &info),
              DmarError::Structure);  // a scope shorter than its header
    EXPECT_EQ(parse(DmarTable{}.drhd(0xFED90000, true).rmrr(0x2000, 0x1FFF), &info), DmarError::Structure);
    EXPECT_EQ(parse(DmarTable{}.drhd(0xFED90000, true).rmrr(0x1000, 0x1800), &info), DmarError::Structure);
    std::vector<u8> tail(3, 0);
    DmarTable t;
    t.drhd(0xFED90000, true);
    std::vector<u8> b = t.bytes();
    b.insert(b.end(), tail.begin(), tail.end());
    b[4] = static_cast<u8>(b.size());
    EXPECT_EQ(dmar_parse(b.data(), b.size(), &info), DmarError::Structure);  // 3 bytes left: no structure header
}

TEST(IommuDmar, RefusesMoreUnitsThanItHolds) {
    DmarTable t;
    for (u32 i = 0; i <= DmarInfo::kMaxUnits; ++i) t.drhd(0xFED90000 + 0x1000ull * i, false);
    DmarInfo info{};
    EXPECT_EQ(parse(t, &info), DmarError::TooMany);
}
