#include "core/memmap.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/prng.hpp"

using namespace tv;

namespace {

constexpr u64 kMiB = 1ull << 20;
constexpr u64 kGiB = 1ull << 30;

struct R {
    u64 base, end;
    MemType type;
};

std::vector<R> ranges_of(MemoryMap const& m) {
    std::vector<R> v;
    for (size_t i = 0; i < m.count(); ++i)
        v.push_back(R{m.at(i).base, m.at(i).end(), m.at(i).type});
    return v;
}

void expect_ranges(MemoryMap const& m, std::vector<R> const& want) {
    auto const got = ranges_of(m);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[i].base, want[i].base) << "range " << i;
        EXPECT_EQ(got[i].end, want[i].end) << "range " << i;
        EXPECT_EQ(got[i].type, want[i].type) << "range " << i;
    }
}

// Sorted, non-overlapping, no empty ranges, no two touching ranges of the same type.
void expect_normal(MemoryMap const& m) {
    for (size_t i = 0; i < m.count(); ++i) {
        EXPECT_NE(m.at(i).length, 0u) << "range " << i;
        if (i == 0)
            continue;
        EXPECT_LE(m.at(i - 1).end(), m.at(i).base) << "range " << i;
        if (m.at(i - 1).end() == m.at(i).base) {
            EXPECT_NE(m.at(i - 1).type, m.at(i).type) << "range " << i;
        }
    }
}

// The QEMU q35 map with 3 GiB of RAM (2 GiB low, 1 GiB above 4 GiB).
void add_q35(MemoryMap* m) {
    m->clear();
    ASSERT_EQ(m->add(0, 0x9fc00, MemType::Usable), Status::Ok);
    ASSERT_EQ(m->add(0x9fc00, 0x400, MemType::Reserved), Status::Ok);
    ASSERT_EQ(m->add(0xf0000, 0x10000, MemType::Reserved), Status::Ok);
    ASSERT_EQ(m->add(0x100000, 0x7ffe0000 - 0x100000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m->add(0x7ffe0000, 0x20000, MemType::Reserved), Status::Ok);
    ASSERT_EQ(m->add(0xb0000000, 0x10000000, MemType::Reserved), Status::Ok);
    ASSERT_EQ(m->add(0xfffc0000, 0x40000, MemType::Reserved), Status::Ok);
    ASSERT_EQ(m->add(0x100000000, 0x40000000, MemType::Usable), Status::Ok);
    m->normalize();
}

TEST(MemoryMap, NormalizeSortsUnsortedEntries) {
    MemoryMap m;
    m.clear();
    ASSERT_EQ(m.add(0x100000, 0x100000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0, 0x9f000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0xe0000, 0x20000, MemType::Reserved), Status::Ok);
    m.normalize();
    expect_ranges(m, {{0, 0x9f000, MemType::Usable},
                      {0xe0000, 0x100000, MemType::Reserved},
                      {0x100000, 0x200000, MemType::Usable}});
}

TEST(MemoryMap, ReservedInsideUsableSplitsIt) {
    MemoryMap m;
    ASSERT_EQ(m.add(0, 0x10000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0x8000, 0x1000, MemType::Reserved), Status::Ok);
    m.normalize();
    expect_ranges(m, {{0, 0x8000, MemType::Usable},
                      {0x8000, 0x9000, MemType::Reserved},
                      {0x9000, 0x10000, MemType::Usable}});
}

TEST(MemoryMap, UsableNeverWinsOverAnyOtherTypeWhateverTheOrder) {
    for (MemType t :
         {MemType::Reserved, MemType::AcpiReclaim, MemType::AcpiNvs, MemType::Unusable}) {
        MemoryMap m;
        ASSERT_EQ(m.add(0x1000, 0x3000, t), Status::Ok);
        ASSERT_EQ(m.add(0, 0x10000, MemType::Usable), Status::Ok);  // listed after, still loses
        m.normalize();
        expect_ranges(m, {{0, 0x1000, MemType::Usable},
                          {0x1000, 0x4000, t},
                          {0x4000, 0x10000, MemType::Usable}});
    }
}

TEST(MemoryMap, HigherTypeNumberWinsAmongNonUsable) {
    MemoryMap m;
    ASSERT_EQ(m.add(0, 0x4000, MemType::AcpiNvs), Status::Ok);
    ASSERT_EQ(m.add(0x2000, 0x4000, MemType::AcpiReclaim), Status::Ok);
    ASSERT_EQ(m.add(0x1000, 0x2000, MemType::Reserved), Status::Ok);
    m.normalize();
    expect_ranges(m, {{0, 0x4000, MemType::AcpiNvs}, {0x4000, 0x6000, MemType::AcpiReclaim}});
}

TEST(MemoryMap, TouchingRangesOfEqualTypeMergeOthersStayApart) {
    MemoryMap m;
    ASSERT_EQ(m.add(0x2000, 0x1000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0, 0x1000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0x1000, 0x1000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0x3000, 0x1000, MemType::Reserved), Status::Ok);
    ASSERT_EQ(m.add(0x4000, 0x1000, MemType::AcpiNvs), Status::Ok);
    m.normalize();
    expect_ranges(m, {{0, 0x3000, MemType::Usable},
                      {0x3000, 0x4000, MemType::Reserved},
                      {0x4000, 0x5000, MemType::AcpiNvs}});
}

TEST(MemoryMap, EmptyAndDuplicateEntriesDisappear) {
    MemoryMap m;
    ASSERT_EQ(m.add(0x5000, 0, MemType::Reserved), Status::Ok);
    ASSERT_EQ(m.add(0, 0x1000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0, 0x1000, MemType::Usable), Status::Ok);
    m.normalize();
    expect_ranges(m, {{0, 0x1000, MemType::Usable}});
}

TEST(MemoryMap, NormalizeOfEmptyMapIsEmpty) {
    MemoryMap m;
    m.normalize();
    EXPECT_EQ(m.count(), 0u);
    EXPECT_EQ(m.top_of_ram(), 0u);
    EXPECT_EQ(m.max_address(), 0u);
}

TEST(MemoryMap, AddRefusesMoreThanMaxEntries) {
    MemoryMap m;
    for (size_t i = 0; i < MemoryMap::kMaxEntries; ++i)
        ASSERT_EQ(m.add(i * 0x2000, 0x1000, MemType::Usable), Status::Ok);
    EXPECT_EQ(m.add(0x10000000, 0x1000, MemType::Usable), Status::NoMemory);
    m.normalize();
    EXPECT_EQ(m.count(), MemoryMap::kMaxEntries);
}

TEST(MemoryMap, WorstCaseOverlapsStillFitAfterNormalize) {
    // One big usable range with a hole punched by every other entry: 2n-1 pieces.
    MemoryMap m;
    ASSERT_EQ(m.add(0, 0x1000000, MemType::Usable), Status::Ok);
    for (size_t i = 1; i < MemoryMap::kMaxEntries; ++i)
        ASSERT_EQ(m.add(i * 0x10000, 0x1000, MemType::Reserved), Status::Ok);
    m.normalize();
    EXPECT_EQ(m.count(), 2 * MemoryMap::kMaxEntries - 1);
    expect_normal(m);
    // A carve splitting one more usable piece still has room.
    EXPECT_EQ(m.set_type(0x8000, 0x1000, MemType::Reserved), Status::Ok);
    EXPECT_EQ(m.count(), 2 * MemoryMap::kMaxEntries + 1);
    expect_normal(m);
}

TEST(MemoryMap, RangeRunningPastTopOfAddressSpaceIsCutShort) {
    MemoryMap m;
    ASSERT_EQ(m.add(~0ull - 0xfff, 0x10000, MemType::Reserved), Status::Ok);
    m.normalize();
    ASSERT_EQ(m.count(), 1u);
    EXPECT_EQ(m.at(0).end(), ~0ull);
    EXPECT_EQ(m.max_address(), ~0ull);
}

TEST(MemoryMap, AtPastTheEndIsAnEmptyRange) {
    MemoryMap m;
    EXPECT_EQ(m.at(0).length, 0u);
    EXPECT_EQ(m.at(1000).length, 0u);
}

TEST(MemoryMap, SetTypeCarvesAHoleSplittingUsable) {
    MemoryMap m;
    ASSERT_EQ(m.add(0x100000, 0x1000000, MemType::Usable), Status::Ok);
    m.normalize();
    ASSERT_EQ(m.set_type(0x400000, 0x200000, MemType::Reserved), Status::Ok);
    expect_ranges(m, {{0x100000, 0x400000, MemType::Usable},
                      {0x400000, 0x600000, MemType::Reserved},
                      {0x600000, 0x1100000, MemType::Usable}});
}

TEST(MemoryMap, SetTypeOverridesEvenAHigherType) {
    MemoryMap m;
    ASSERT_EQ(m.add(0, 0x10000, MemType::AcpiNvs), Status::Ok);
    ASSERT_EQ(m.set_type(0x4000, 0x4000, MemType::Usable), Status::Ok);
    expect_ranges(m, {{0, 0x4000, MemType::AcpiNvs},
                      {0x4000, 0x8000, MemType::Usable},
                      {0x8000, 0x10000, MemType::AcpiNvs}});
}

TEST(MemoryMap, SetTypeSpanningSeveralRangesMergesWithNeighbours) {
    MemoryMap m;
    ASSERT_EQ(m.add(0, 0x1000, MemType::Reserved), Status::Ok);
    ASSERT_EQ(m.add(0x1000, 0x1000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0x2000, 0x1000, MemType::AcpiReclaim), Status::Ok);
    ASSERT_EQ(m.add(0x4000, 0x1000, MemType::Reserved), Status::Ok);
    ASSERT_EQ(m.set_type(0x800, 0x3800, MemType::Reserved), Status::Ok);
    expect_ranges(m, {{0, 0x5000, MemType::Reserved}});
}

TEST(MemoryMap, SetTypeOfZeroLengthChangesNothing) {
    MemoryMap m;
    ASSERT_EQ(m.add(0, 0x1000, MemType::Usable), Status::Ok);
    m.normalize();
    ASSERT_EQ(m.set_type(0x800, 0, MemType::Reserved), Status::Ok);
    expect_ranges(m, {{0, 0x1000, MemType::Usable}});
}

TEST(MemoryMap, Q35MapNormalizesToFirmwareOrder) {
    MemoryMap m;
    add_q35(&m);
    expect_ranges(m, {{0, 0x9fc00, MemType::Usable},
                      {0x9fc00, 0xa0000, MemType::Reserved},
                      {0xf0000, 0x100000, MemType::Reserved},
                      {0x100000, 0x7ffe0000, MemType::Usable},
                      {0x7ffe0000, 0x80000000, MemType::Reserved},
                      {0xb0000000, 0xc0000000, MemType::Reserved},
                      {0xfffc0000, 0x100000000, MemType::Reserved},
                      {0x100000000, 0x140000000, MemType::Usable}});
    EXPECT_EQ(m.top_of_ram(), 0x140000000u);
    EXPECT_EQ(m.max_address(), 0x140000000u);
}

TEST(MemoryMap, E820ContinuationWalksWholeMapAndEndsWithZero) {
    MemoryMap m;
    add_q35(&m);
    u32 index = 0;
    size_t seen = 0;
    do {
        E820Entry e;
        u32 next = 0xdead;
        ASSERT_TRUE(m.e820_entry(index, &e, &next));
        ASSERT_LT(seen, m.count());
        EXPECT_EQ(e.base, m.at(seen).base);
        EXPECT_EQ(e.length, m.at(seen).length);
        EXPECT_EQ(e.type, static_cast<u32>(m.at(seen).type));
        ++seen;
        index = next;
    } while (index != 0);
    EXPECT_EQ(seen, m.count());
}

TEST(MemoryMap, E820IndexPastTheEndFails) {
    MemoryMap m;
    add_q35(&m);
    E820Entry e;
    u32 next;
    EXPECT_FALSE(m.e820_entry(static_cast<u32>(m.count()), &e, &next));
    EXPECT_FALSE(m.e820_entry(0xffffffff, &e, &next));
    MemoryMap empty;
    EXPECT_FALSE(empty.e820_entry(0, &e, &next));
}

TEST(MemoryMap, E801OnQ35CountsTheRunFromOneMiB) {
    MemoryMap m;
    add_q35(&m);
    u16 low, high;
    m.e801(&low, &high);
    EXPECT_EQ(low, 0x3C00);                                         // 15 MiB
    EXPECT_EQ(high, (0x7ffe0000 - 16 * kMiB) / 0x10000);           // up to the reserved top
    EXPECT_EQ(m.ext_kb_88h(), MemoryMap::kExt88Cap);
}

TEST(MemoryMap, CarvedMonitorRegionIsNeverReportedUsable) {
    MemoryMap m;
    add_q35(&m);
    u64 base = 0;
    ASSERT_TRUE(m.find_top_usable(32 * kMiB, 2 * kMiB, 4 * kGiB, nullptr, nullptr, 0, &base));
    EXPECT_EQ(base, 0x7de00000u);  // the highest 2 MiB boundary leaving 32 MiB below 0x7ffe0000
    ASSERT_EQ(m.set_type(base, 32 * kMiB, MemType::Reserved), Status::Ok);
    expect_normal(m);

    u32 index = 0;
    do {
        E820Entry e;
        ASSERT_TRUE(m.e820_entry(index, &e, &index));
        bool const overlaps = e.base < base + 32 * kMiB && base < e.base + e.length;
        if (overlaps) {
            EXPECT_NE(e.type, static_cast<u32>(MemType::Usable));
        }
    } while (index != 0);

    u16 low, high;
    m.e801(&low, &high);
    EXPECT_EQ(low, 0x3C00);
    EXPECT_EQ(high, (base - 16 * kMiB) / 0x10000);  // stops at the carved region
    // The sliver between the carve and the firmware's reserved top is still Usable in E820.
    EXPECT_EQ(m.top_of_ram(), 0x140000000u);
}

TEST(MemoryMap, E801StopsAtTheFirstHoleBelowSixteenMiB) {
    MemoryMap m;
    ASSERT_EQ(m.add(0x100000, 63 * kMiB, MemType::Usable), Status::Ok);
    m.normalize();
    ASSERT_EQ(m.set_type(8 * kMiB, 2 * kMiB, MemType::Reserved), Status::Ok);
    u16 low, high;
    m.e801(&low, &high);
    EXPECT_EQ(low, 7 * 1024);
    EXPECT_EQ(high, 0);  // usable memory above the hole is not contiguous with 1 MiB
    EXPECT_EQ(m.ext_kb_88h(), 7 * 1024);
}

TEST(MemoryMap, E801CountsAdjacentUsableEntriesAsOneRun) {
    MemoryMap m;  // not normalized: two touching usable entries
    ASSERT_EQ(m.add(0x100000, 31 * kMiB, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(32 * kMiB, 32 * kMiB, MemType::Usable), Status::Ok);
    u16 low, high;
    m.e801(&low, &high);
    EXPECT_EQ(low, 0x3C00);
    EXPECT_EQ(high, 48 * 16);
    EXPECT_EQ(m.ext_kb_88h(), 63 * 1024);
}

TEST(MemoryMap, E801IsZeroWithoutUsableMemoryAtOneMiB) {
    MemoryMap m;
    ASSERT_EQ(m.add(0, 0x9fc00, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0x200000, 0x1000000, MemType::Usable), Status::Ok);
    m.normalize();
    u16 low = 1, high = 1;
    m.e801(&low, &high);
    EXPECT_EQ(low, 0);
    EXPECT_EQ(high, 0);
    EXPECT_EQ(m.ext_kb_88h(), 0);
}

TEST(MemoryMap, E801IgnoresMemoryAboveFourGiB) {
    MemoryMap m;
    ASSERT_EQ(m.add(0x100000, 8 * kGiB, MemType::Usable), Status::Ok);
    m.normalize();
    u16 low, high;
    m.e801(&low, &high);
    EXPECT_EQ(low, 0x3C00);
    EXPECT_EQ(high, 0xFF00);  // (4 GiB - 16 MiB) / 64 KiB
}

TEST(MemoryMap, FindTopUsableRespectsTheLimit) {
    MemoryMap m;
    add_q35(&m);
    u64 base;
    ASSERT_TRUE(m.find_top_usable(32 * kMiB, 2 * kMiB, ~0ull, nullptr, nullptr, 0, &base));
    EXPECT_EQ(base, 0x140000000u - 32 * kMiB);
    ASSERT_TRUE(m.find_top_usable(32 * kMiB, 2 * kMiB, 0x40000000, nullptr, nullptr, 0, &base));
    EXPECT_EQ(base, 0x40000000u - 32 * kMiB);
}

TEST(MemoryMap, FindTopUsableSkipsAvoidedRanges) {
    MemoryMap m;
    add_q35(&m);
    // Boot modules sitting at the top of low RAM, one straddling the 2 MiB boundaries.
    u64 const avoid_base[] = {0x7f000000, 0x7dc00000};
    u64 const avoid_len[] = {0x800000, 0x300000};
    u64 base;
    ASSERT_TRUE(m.find_top_usable(32 * kMiB, 2 * kMiB, 4 * kGiB, avoid_base, avoid_len, 2, &base));
    EXPECT_EQ(base, 0x7dc00000u - 32 * kMiB);
    EXPECT_TRUE(is_aligned(base, 2 * kMiB));
}

TEST(MemoryMap, FindTopUsableUnalignedBlockEndsRightAtAnAvoidedRange) {
    MemoryMap m;
    ASSERT_EQ(m.add(0x1000, 0x10000, MemType::Usable), Status::Ok);
    m.normalize();
    u64 const avoid_base[] = {0x9001, 0x2000};
    u64 const avoid_len[] = {0x10, 0};  // an empty range avoids nothing
    u64 base;
    ASSERT_TRUE(m.find_top_usable(0x100, 1, ~0ull, avoid_base, avoid_len, 2, &base));
    EXPECT_EQ(base, 0x11000u - 0x100);
    ASSERT_TRUE(m.find_top_usable(0x100, 1, 0x9100, avoid_base, avoid_len, 2, &base));
    EXPECT_EQ(base, 0x9001u - 0x100);
}

TEST(MemoryMap, FindTopUsableNeedsOneUsableRangeToHoldTheWholeBlock) {
    MemoryMap m;
    add_q35(&m);
    u64 base = 0;
    // Between 0 and 1 MiB there are 639 KiB usable only.
    EXPECT_FALSE(m.find_top_usable(0xa0000, 0x1000, 0x100000, nullptr, nullptr, 0, &base));
    ASSERT_TRUE(m.find_top_usable(0x9f000, 0x1000, 0x100000, nullptr, nullptr, 0, &base));
    EXPECT_EQ(base, 0u);
    EXPECT_FALSE(m.find_top_usable(2 * kGiB, 0x1000, ~0ull, nullptr, nullptr, 0, &base));
}

TEST(MemoryMap, FindTopUsableRejectsBadArguments) {
    MemoryMap m;
    add_q35(&m);
    u64 base;
    EXPECT_FALSE(m.find_top_usable(0, 0x1000, ~0ull, nullptr, nullptr, 0, &base));
    EXPECT_FALSE(m.find_top_usable(0x1000, 0x3000, ~0ull, nullptr, nullptr, 0, &base));
    ASSERT_TRUE(m.find_top_usable(0x1000, 0, ~0ull, nullptr, nullptr, 0, &base));  // 0 means 1
    EXPECT_EQ(base, 0x140000000u - 0x1000);
}

TEST(MemoryMap, TopOfRamCountsAcpiButNotReserved) {
    MemoryMap m;
    ASSERT_EQ(m.add(0, 0x1000000, MemType::Usable), Status::Ok);
    ASSERT_EQ(m.add(0x1000000, 0x10000, MemType::AcpiNvs), Status::Ok);
    ASSERT_EQ(m.add(0xfec00000, 0x1000, MemType::Reserved), Status::Ok);
    m.normalize();
    EXPECT_EQ(m.top_of_ram(), 0x1010000u);
    EXPECT_EQ(m.max_address(), 0xfec01000u);
}

// --- property test against a unit-per-cell model -----------------------------------------

constexpr u64 kUnit = 0x10000;  // 64 KiB cells: fine enough for E801's block size
constexpr u64 kCells = 512;     // 32 MiB: crosses both E801 boundaries
constexpr u8 kHole = 0;

u8 model_rank(u8 t) { return t == kHole ? 0 : t == 1 ? 1 : static_cast<u8>(t + 1); }

u8 type_at(MemoryMap const& m, u64 addr) {
    for (size_t i = 0; i < m.count(); ++i)
        if (m.at(i).base <= addr && addr < m.at(i).end())
            return static_cast<u8>(m.at(i).type);
    return kHole;
}

// Highest cell-aligned block in the model, by brute force.
bool model_top(std::vector<u8> const& cells, u64 size, u64 align, u64 limit, u64 avoid_b,
               u64 avoid_e, u64* out) {
    for (u64 p = kCells; p-- > 0;) {
        if (p % align != 0 || p + size > limit || p + size > kCells)
            continue;
        if (avoid_b != avoid_e && p < avoid_e && avoid_b < p + size)
            continue;
        bool fits = true;
        for (u64 c = p; c < p + size && fits; ++c)
            fits = cells[c] == static_cast<u8>(MemType::Usable);
        if (fits) {
            *out = p;
            return true;
        }
    }
    return false;
}

void check_against_model(MemoryMap const& m, std::vector<u8> const& cells, test::Prng& rng) {
    expect_normal(m);
    for (u64 c = 0; c < kCells; ++c)
        ASSERT_EQ(type_at(m, c * kUnit), cells[c]) << "cell " << c;

    u64 run = 16;  // the usable run from 1 MiB
    while (run < kCells && cells[run] == static_cast<u8>(MemType::Usable))
        ++run;
    u16 low, high;
    m.e801(&low, &high);
    u64 const run_end = run * kUnit;
    EXPECT_EQ(low, ((run_end < 16 * kMiB ? run_end : 16 * kMiB) - kMiB) / 1024);
    EXPECT_EQ(high, run_end > 16 * kMiB ? (run_end - 16 * kMiB) / kUnit : 0);
    EXPECT_EQ(m.ext_kb_88h(), (run_end - kMiB) / 1024);

    for (int q = 0; q < 8; ++q) {
        u64 const size = 1 + rng.below(40), align = 1ull << rng.below(5);
        u64 const limit = rng.below(kCells + 1);
        u64 const ab = rng.below(kCells), ae = ab + rng.below(64);
        u64 const avoid_base[] = {ab * kUnit}, avoid_len[] = {(ae - ab) * kUnit};
        u64 want = 0, got = 0;
        bool const want_ok = model_top(cells, size, align, limit, ab, ae, &want);
        bool const got_ok = m.find_top_usable(size * kUnit, align * kUnit, limit * kUnit,
                                              avoid_base, avoid_len, 1, &got);
        ASSERT_EQ(got_ok, want_ok) << "size " << size << " align " << align << " limit " << limit;
        if (want_ok) {
            EXPECT_EQ(got, want * kUnit);
        }
    }
}

TEST(MemoryMap, PropertyMatchesCellModelUnderRandomEntriesAndCarves) {
    test::Prng rng{0x3e820};
    for (int round = 0; round < 300; ++round) {
        MemoryMap m;
        std::vector<u8> cells(kCells, kHole);
        u64 const n = 1 + rng.below(24);
        for (u64 i = 0; i < n; ++i) {
            u64 const b = rng.below(kCells), len = rng.below(96);
            u8 const t = static_cast<u8>(1 + rng.below(5));
            u64 const e = b + len < kCells ? b + len : kCells;
            ASSERT_EQ(m.add(b * kUnit, (e - b) * kUnit, static_cast<MemType>(t)), Status::Ok);
            for (u64 c = b; c < e; ++c)
                if (model_rank(t) > model_rank(cells[c]))
                    cells[c] = t;
        }
        m.normalize();
        ASSERT_NO_FATAL_FAILURE(check_against_model(m, cells, rng));
        for (int k = 0; k < 4; ++k) {
            u64 const b = rng.below(kCells), len = rng.below(64);
            u64 const e = b + len < kCells ? b + len : kCells;
            u8 const t = static_cast<u8>(1 + rng.below(5));
            ASSERT_EQ(m.set_type(b * kUnit, (e - b) * kUnit, static_cast<MemType>(t)), Status::Ok);
            for (u64 c = b; c < e; ++c)
                cells[c] = t;
            ASSERT_NO_FATAL_FAILURE(check_against_model(m, cells, rng));
        }
    }
}

}  // namespace
