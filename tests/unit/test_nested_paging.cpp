#include "core/nested_paging.hpp"

#include <gtest/gtest.h>

#include <stdio.h>
#include <stdlib.h>

#include <memory>
#include <vector>

#include "tests/unit/prng.hpp"

using namespace tv;

namespace {

constexpr u64 k4K = kPageSize;
constexpr u64 k2M = kLargePageSize;
constexpr u64 k1G = kHugePageSize;

// Table pages from the host heap, given made-up host-physical addresses so that a table
// address can never be confused with a mapped one; at most `limit` of them.
class HeapPages final : public PageSource {
  public:
    static constexpr u64 kFakeBase = 0x7700000000ull;

    explicit HeapPages(size_t limit = 100000) : limit_{limit} {}

    Status alloc_zeroed_page(Hpa* out) override {
        if (pages_.size() >= limit_)
            return Status::NoMemory;
        pages_.push_back(std::make_unique<Page>());
        *out = Hpa{kFakeBase + (pages_.size() - 1) * k4K};
        return Status::Ok;
    }
    void* to_virt(Hpa h) override {
        size_t const i = static_cast<size_t>((h.raw - kFakeBase) / k4K);
        if (h.raw < kFakeBase || h.raw % k4K != 0 || i >= pages_.size()) {
            fprintf(stderr, "to_virt of %#llx, which is no table page\n",
                    static_cast<unsigned long long>(h.raw));
            abort();  // the builder followed a corrupt entry: nothing sensible can follow
        }
        return pages_[i]->e;
    }
    size_t allocated() const { return pages_.size(); }
    void set_limit(size_t limit) { limit_ = limit; }

  private:
    struct alignas(4096) Page {
        u64 e[512]{};
    };
    std::vector<std::unique_ptr<Page>> pages_;
    size_t limit_;
};

constexpr u64 kTableBits = 0x7;  // non-leaf entries: NPT P|RW|US, EPT R|W|X

struct Npt {
    HeapPages pages;
    NestedPageTable t;
    explicit Npt(NestedFormat f = NestedFormat::Npt, bool allow_1g = true, size_t limit = 100000)
        : pages{limit} {
        t.init(f, &pages, allow_1g);
        EXPECT_EQ(t.create_root(), Status::Ok);
    }
    // The raw entry for gpa at a level (3 = PML4 ... 0 = PT), walking tables above it.
    u64 entry(u64 gpa, unsigned level) {
        u64* tbl = static_cast<u64*>(pages.to_virt(t.root()));
        for (unsigned l = 3;; --l) {
            u64 const e = tbl[(gpa >> (12 + 9 * l)) & 511];
            if (l == level)
                return e;
            if ((e & 0xFFF) != kTableBits) {
                ADD_FAILURE() << "no table below level " << l << " for " << std::hex << gpa;
                return ~0ull;
            }
            tbl = static_cast<u64*>(pages.to_virt(Hpa{e & 0x000FFFFFFFFFF000ull}));
        }
    }
    u64 size_at(u64 gpa) {
        u64 ps = 0;
        EXPECT_TRUE(t.translate(Gpa{gpa}, nullptr, nullptr, &ps)) << std::hex << gpa;
        return ps;
    }
    u64 hpa_at(u64 gpa) {
        Hpa h{~0ull};
        EXPECT_TRUE(t.translate(Gpa{gpa}, &h, nullptr, nullptr)) << std::hex << gpa;
        return h.raw;
    }
    Perm perm_at(u64 gpa) {
        Perm p = Perm::None;
        EXPECT_TRUE(t.translate(Gpa{gpa}, nullptr, &p, nullptr)) << std::hex << gpa;
        return p;
    }
    bool mapped(u64 gpa) { return t.translate(Gpa{gpa}, nullptr, nullptr, nullptr); }
};

Npt ept(bool allow_1g = true) { return Npt{NestedFormat::Ept, allow_1g}; }

bool is_table(u64 e) { return (e & 0xFFF) == kTableBits && e >= HeapPages::kFakeBase; }

// --- exact entry bits ----------------------------------------------------------------------

TEST(NestedPaging, NptFourKiBEntriesHaveExactlyPresentWriteUserBits) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0x1000}, Hpa{0x200000}, k4K, Perm::RWX), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{0x2000}, Hpa{0x201000}, k4K, Perm::R), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{0x3000}, Hpa{0x202000}, k4K, Perm::RW), Status::Ok);
    EXPECT_TRUE(is_table(n.entry(0x1000, 3)));
    EXPECT_TRUE(is_table(n.entry(0x1000, 2)));
    EXPECT_TRUE(is_table(n.entry(0x1000, 1)));
    EXPECT_EQ(n.entry(0x1000, 0), 0x200000u | 0x7);  // P|RW|US
    EXPECT_EQ(n.entry(0x2000, 0), 0x201000u | 0x5);  // P|US: read-only keeps US
    EXPECT_EQ(n.entry(0x3000, 0), 0x202000u | 0x7);  // no NX: RW and RWX look the same
    EXPECT_EQ(n.entry(0x0000, 0), 0u);
}

TEST(NestedPaging, NptLargeEntriesSetPageSizeBit) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{k2M}, Hpa{0x40000000 + k2M}, k2M, Perm::RW), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{4 * k1G}, Hpa{k1G}, k1G, Perm::R), Status::Ok);
    EXPECT_EQ(n.entry(k2M, 1), (0x40000000u + k2M) | 0x87);
    EXPECT_EQ(n.entry(4 * k1G, 2), k1G | 0x85);
}

TEST(NestedPaging, EptEntriesCarryPermissionsAndWriteBackType) {
    Npt n = ept();
    ASSERT_EQ(n.t.map(Gpa{0x1000}, Hpa{0x200000}, k4K, Perm::RWX), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{0x2000}, Hpa{0x201000}, k4K, Perm::R), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{0x3000}, Hpa{0x202000}, k4K, Perm::RX), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{0x4000}, Hpa{0x203000}, k4K, Perm::X), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{k2M}, Hpa{4 * k2M}, k2M, Perm::RW), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{k1G}, Hpa{3 * k1G}, k1G, Perm::RWX), Status::Ok);
    EXPECT_TRUE(is_table(n.entry(0x1000, 3)));  // non-leaf: R|W|X, no memory type
    EXPECT_TRUE(is_table(n.entry(0x1000, 2)));
    EXPECT_TRUE(is_table(n.entry(0x1000, 1)));
    EXPECT_EQ(n.entry(0x1000, 0), 0x200000u | 0x37);
    EXPECT_EQ(n.entry(0x2000, 0), 0x201000u | 0x31);
    EXPECT_EQ(n.entry(0x3000, 0), 0x202000u | 0x35);
    EXPECT_EQ(n.entry(0x4000, 0), 0x203000u | 0x34);  // execute-only
    EXPECT_EQ(n.entry(k2M, 1), 4 * k2M | 0xB3);
    EXPECT_EQ(n.entry(k1G, 2), 3 * k1G | 0xB7);
}

TEST(NestedPaging, NptUncachedLeavesSelectPatEntryThree) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0xfee00000}, Hpa{0xfee00000}, k4K, Perm::RW, Cache::Uncached),
              Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{0xc0000000}, Hpa{0xc0000000}, k2M, Perm::R, Cache::Uncached),
              Status::Ok);
    EXPECT_EQ(n.entry(0xfee00000, 0), 0xfee00000u | 0x1F);  // P|RW|US|PWT|PCD
    EXPECT_EQ(n.entry(0xc0000000, 1), 0xc0000000u | 0x9D);
}

TEST(NestedPaging, EptUncachedLeavesHaveMemoryTypeZero) {
    Npt n = ept();
    ASSERT_EQ(n.t.map(Gpa{0xfee00000}, Hpa{0xfee00000}, k4K, Perm::RW, Cache::Uncached),
              Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{0x80000000}, Hpa{0x80000000}, k1G, Perm::RW, Cache::Uncached),
              Status::Ok);
    EXPECT_EQ(n.entry(0xfee00000, 0), 0xfee00000u | 0x3);
    EXPECT_EQ(n.entry(0x80000000, 2), 0x80000000u | 0x83);
}

TEST(NestedPaging, SplitAndProtectKeepTheMemoryType) {
    for (NestedFormat f : {NestedFormat::Npt, NestedFormat::Ept}) {
        Npt n{f};
        ASSERT_EQ(n.t.map(Gpa{0}, Hpa{k1G}, k2M, Perm::RW, Cache::Uncached), Status::Ok);
        ASSERT_EQ(n.t.protect(Gpa{k4K}, k4K, Perm::R), Status::Ok);
        ASSERT_EQ(n.t.unmap(Gpa{2 * k4K}, k4K), Status::Ok);
        u64 const rw = f == NestedFormat::Npt ? 0x1F : 0x3, r = f == NestedFormat::Npt ? 0x1D : 0x1;
        EXPECT_EQ(n.entry(0, 0), k1G | rw);
        EXPECT_EQ(n.entry(k4K, 0), (k1G + k4K) | r);
        EXPECT_EQ(n.entry(2 * k4K, 0), 0u);
        EXPECT_EQ(n.entry(3 * k4K, 0), (k1G + 3 * k4K) | rw);
    }
}

TEST(NestedPaging, EptpNamesRootWithWriteBackAndFourLevelWalk) {
    Npt n = ept();
    EXPECT_EQ(n.t.eptp(), n.t.root().raw | 0x1E);
    EXPECT_EQ(n.t.format(), NestedFormat::Ept);
}

TEST(NestedPaging, PermissionsEachFormatCannotExpressAreInvalid) {
    Npt n;
    EXPECT_EQ(n.t.map(Gpa{0}, Hpa{0}, k4K, Perm::X), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{0}, Hpa{0}, k4K, Perm::W), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{0}, Hpa{0}, k4K, Perm::W | Perm::X), Status::Invalid);
    Npt e = ept();
    EXPECT_EQ(e.t.map(Gpa{0}, Hpa{0}, k4K, Perm::W), Status::Invalid);
    EXPECT_EQ(e.t.map(Gpa{0}, Hpa{0}, k4K, Perm::W | Perm::X), Status::Invalid);
    EXPECT_FALSE(n.mapped(0));
    EXPECT_FALSE(e.mapped(0));
}

TEST(NestedPaging, NptReportsExecuteAsAlwaysAllowed) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{0x5000}, k4K, Perm::R), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{k4K}, Hpa{0x6000}, k4K, Perm::RW), Status::Ok);
    EXPECT_EQ(n.perm_at(0), Perm::RX);
    EXPECT_EQ(n.perm_at(k4K), Perm::RWX);
}

// --- page size selection -------------------------------------------------------------------

TEST(NestedPaging, AlignedRangesGetTheLargestPages) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{0}, 4 * k1G, Perm::RWX), Status::Ok);
    for (u64 g = 0; g < 4 * k1G; g += k1G)
        EXPECT_EQ(n.size_at(g + 0x1234000), k1G);
    EXPECT_EQ(n.hpa_at(3 * k1G + 0x1234567), 3 * k1G + 0x1234567);
    EXPECT_EQ(n.pages.allocated(), 2u);  // PML4 and one PDPT
}

TEST(NestedPaging, OneGiBPagesOnlyWhenAllowed) {
    Npt n{NestedFormat::Npt, false};
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{0}, k1G, Perm::RWX), Status::Ok);
    EXPECT_EQ(n.size_at(0), k2M);
    EXPECT_EQ(n.size_at(k1G - k4K), k2M);
    EXPECT_EQ(n.pages.allocated(), 3u);  // PML4, PDPT, PD
}

TEST(NestedPaging, MisalignedHostAddressFallsBackToSmallerPages) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{k1G}, Hpa{k1G + k2M}, k1G, Perm::RW), Status::Ok);
    EXPECT_EQ(n.size_at(k1G), k2M);
    ASSERT_EQ(n.t.map(Gpa{4 * k1G}, Hpa{0x10001000}, k2M, Perm::RW), Status::Ok);
    EXPECT_EQ(n.size_at(4 * k1G), k4K);
    EXPECT_EQ(n.hpa_at(4 * k1G + k2M - 1), 0x10001000u + k2M - 1);
}

TEST(NestedPaging, UnalignedRangeUsesSmallPagesAtTheEdgesOnly) {
    Npt n;
    u64 const start = k2M - k4K, end = 3 * k2M + k4K;
    ASSERT_EQ(n.t.map(Gpa{start}, Hpa{start + k1G}, end - start, Perm::RW), Status::Ok);
    EXPECT_EQ(n.size_at(start), k4K);
    EXPECT_EQ(n.size_at(k2M), k2M);
    EXPECT_EQ(n.size_at(2 * k2M), k2M);
    EXPECT_EQ(n.size_at(3 * k2M), k4K);
    EXPECT_FALSE(n.mapped(start - k4K));
    EXPECT_FALSE(n.mapped(end));
    EXPECT_EQ(n.hpa_at(end - 1), end - 1 + k1G);
}

// --- splitting -----------------------------------------------------------------------------

TEST(NestedPaging, UnmapInsideLargePageKeepsItsNeighboursMapped) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{k2M}, Hpa{8 * k2M}, k2M, Perm::RW), Status::Ok);
    ASSERT_EQ(n.t.unmap(Gpa{k2M + 5 * k4K}, k4K), Status::Ok);
    EXPECT_FALSE(n.mapped(k2M + 5 * k4K));
    for (u64 i = 0; i < 512; ++i) {
        if (i == 5)
            continue;
        u64 const g = k2M + i * k4K;
        ASSERT_EQ(n.hpa_at(g), 8 * k2M + i * k4K);
        ASSERT_EQ(n.perm_at(g), Perm::RWX);
        ASSERT_EQ(n.size_at(g), k4K);
    }
    EXPECT_EQ(n.entry(k2M + 6 * k4K, 0), (8 * k2M + 6 * k4K) | 0x7);  // split leaves lose PS
}

TEST(NestedPaging, UnmapInsideOneGiBPageSplitsTwoLevels) {
    Npt n = ept();
    ASSERT_EQ(n.t.map(Gpa{k1G}, Hpa{2 * k1G}, k1G, Perm::RX), Status::Ok);
    ASSERT_EQ(n.t.unmap(Gpa{k1G + 3 * k2M + k4K}, k4K), Status::Ok);
    EXPECT_FALSE(n.mapped(k1G + 3 * k2M + k4K));
    EXPECT_EQ(n.size_at(k1G), k2M);
    EXPECT_EQ(n.size_at(k1G + 3 * k2M), k4K);
    EXPECT_EQ(n.size_at(k1G + 4 * k2M), k2M);
    EXPECT_EQ(n.hpa_at(2 * k1G - 1), 3 * k1G - 1);
    EXPECT_EQ(n.hpa_at(k1G + 3 * k2M + 2 * k4K), 2 * k1G + 3 * k2M + 2 * k4K);
    EXPECT_EQ(n.perm_at(k1G + 3 * k2M), Perm::RX);
    EXPECT_EQ(n.entry(k1G + 4 * k2M, 1), (2 * k1G + 4 * k2M) | 0xB5);  // split 2M leaves keep bit 7
    EXPECT_EQ(n.entry(k1G + 3 * k2M, 0), (2 * k1G + 3 * k2M) | 0x35);
}

TEST(NestedPaging, SmallMappingInsideLargePageReplacesOnlyItsPart) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{k1G}, k2M, Perm::RW), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{0x10000}, Hpa{0x90000000}, 2 * k4K, Perm::R), Status::Ok);
    EXPECT_EQ(n.hpa_at(0x10000), 0x90000000u);
    EXPECT_EQ(n.hpa_at(0x11fff), 0x90001fffu);
    EXPECT_EQ(n.perm_at(0x10000), Perm::RX);
    EXPECT_EQ(n.hpa_at(0xf000), k1G + 0xf000);
    EXPECT_EQ(n.hpa_at(0x12000), k1G + 0x12000);
    EXPECT_EQ(n.perm_at(0x12000), Perm::RWX);
}

TEST(NestedPaging, LargeMappingOverSmallPagesReplacesThem) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{k2M}, Hpa{0x100000}, 16 * k4K, Perm::R), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{k2M}, Hpa{k1G}, k2M, Perm::RW), Status::Ok);
    EXPECT_EQ(n.size_at(k2M + 5 * k4K), k2M);
    EXPECT_EQ(n.hpa_at(k2M + 5 * k4K), k1G + 5 * k4K);
    EXPECT_EQ(n.perm_at(k2M), Perm::RWX);
}

TEST(NestedPaging, UnmapOfWholeLargePagesNeedsNoNewTables) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{0}, 8 * k2M, Perm::RW), Status::Ok);
    size_t const before = n.pages.allocated();
    ASSERT_EQ(n.t.unmap(Gpa{2 * k2M}, 3 * k2M), Status::Ok);
    EXPECT_EQ(n.pages.allocated(), before);
    EXPECT_TRUE(n.mapped(2 * k2M - 1));
    EXPECT_FALSE(n.mapped(2 * k2M));
    EXPECT_FALSE(n.mapped(5 * k2M - 1));
    EXPECT_TRUE(n.mapped(5 * k2M));
}

TEST(NestedPaging, UnmapLeavesTablesThatALaterMapReuses) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0x7000}, Hpa{0x7000}, k4K, Perm::RW), Status::Ok);
    size_t const tables = n.pages.allocated();
    ASSERT_EQ(n.t.unmap(Gpa{0}, k1G), Status::Ok);
    EXPECT_FALSE(n.mapped(0x7000));
    EXPECT_TRUE(is_table(n.entry(0x7000, 1)));  // the empty page table stays
    ASSERT_EQ(n.t.map(Gpa{0x9000}, Hpa{0x9000}, k4K, Perm::RW), Status::Ok);
    EXPECT_EQ(n.pages.allocated(), tables);
}

TEST(NestedPaging, UnmapOfHolesIsFine) {
    Npt n;
    EXPECT_EQ(n.t.unmap(Gpa{0}, 64 * k1G), Status::Ok);
    EXPECT_EQ(n.pages.allocated(), 1u);
}

TEST(NestedPaging, MapWithNoPermissionUnmaps) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{0}, k2M, Perm::RW), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{k4K}, Hpa{0}, k4K, Perm::None), Status::Ok);
    EXPECT_FALSE(n.mapped(k4K));
    EXPECT_TRUE(n.mapped(0));
    EXPECT_TRUE(n.mapped(2 * k4K));
}

// --- protect -------------------------------------------------------------------------------

TEST(NestedPaging, TranslateAfterProtectShowsNewPermissionsSameTargets) {
    Npt n = ept();
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{k1G}, 4 * k2M, Perm::RWX), Status::Ok);
    ASSERT_EQ(n.t.protect(Gpa{k2M}, k2M, Perm::R), Status::Ok);
    EXPECT_EQ(n.perm_at(k2M), Perm::R);
    EXPECT_EQ(n.hpa_at(k2M + 0x1234), k1G + k2M + 0x1234);
    EXPECT_EQ(n.size_at(k2M), k2M);  // a whole large page changes in place
    EXPECT_EQ(n.entry(k2M, 1), (k1G + k2M) | 0xB1);
    EXPECT_EQ(n.perm_at(0), Perm::RWX);
    EXPECT_EQ(n.perm_at(2 * k2M), Perm::RWX);
}

TEST(NestedPaging, ProtectOfPartOfLargePageSplitsIt) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{k2M}, k2M, Perm::RW), Status::Ok);
    ASSERT_EQ(n.t.protect(Gpa{0x3000}, k4K, Perm::R), Status::Ok);
    EXPECT_EQ(n.entry(0x3000, 0), (k2M + 0x3000) | 0x5);
    EXPECT_EQ(n.entry(0x2000, 0), (k2M + 0x2000) | 0x7);
    EXPECT_EQ(n.perm_at(0x3000), Perm::RX);
    EXPECT_EQ(n.perm_at(0x4000), Perm::RWX);
    EXPECT_EQ(n.hpa_at(0x3abc), k2M + 0x3abc);
}

TEST(NestedPaging, ProtectOverAHoleIsNotFoundAndChangesNothing) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{0}, k2M, Perm::RW), Status::Ok);
    ASSERT_EQ(n.t.map(Gpa{k2M + k4K}, Hpa{k2M + k4K}, k4K, Perm::RW), Status::Ok);
    size_t const tables = n.pages.allocated();
    EXPECT_EQ(n.t.protect(Gpa{k4K}, k2M + k4K, Perm::R), Status::NotFound);
    EXPECT_EQ(n.perm_at(k4K), Perm::RWX);
    EXPECT_EQ(n.size_at(0), k2M);
    EXPECT_EQ(n.pages.allocated(), tables);
}

TEST(NestedPaging, ProtectToNoneIsInvalid) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{0}, k4K, Perm::RW), Status::Ok);
    EXPECT_EQ(n.t.protect(Gpa{0}, k4K, Perm::None), Status::Invalid);
    EXPECT_EQ(n.t.protect(Gpa{0}, k4K, Perm::X), Status::Invalid);
    EXPECT_TRUE(n.mapped(0));
}

// --- argument checks and resources ---------------------------------------------------------

TEST(NestedPaging, BadArgumentsAreInvalid) {
    Npt n;
    EXPECT_EQ(n.t.map(Gpa{0x800}, Hpa{0}, k4K, Perm::RW), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{0}, Hpa{0x800}, k4K, Perm::RW), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{0}, Hpa{0}, 0x800, Perm::RW), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{0}, Hpa{0}, 0, Perm::RW), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{1ull << 48}, Hpa{0}, k4K, Perm::RW), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{(1ull << 48) - k4K}, Hpa{0}, 2 * k4K, Perm::RW), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{0}, Hpa{1ull << 52}, k4K, Perm::RW), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{0}, Hpa{(1ull << 52) - k4K}, 2 * k4K, Perm::RW), Status::Invalid);
    EXPECT_EQ(n.t.map(Gpa{k4K}, Hpa{0}, ~0ull - 0xfff, Perm::RW), Status::Invalid);
    EXPECT_EQ(n.t.unmap(Gpa{0x10}, k4K), Status::Invalid);
    EXPECT_EQ(n.t.protect(Gpa{0}, 0x10, Perm::R), Status::Invalid);
    EXPECT_EQ(n.pages.allocated(), 1u);
    EXPECT_FALSE(n.t.translate(Gpa{1ull << 48}, nullptr, nullptr, nullptr));
}

TEST(NestedPaging, TopOfGuestPhysicalSpaceCanBeMapped) {
    Npt n;
    u64 const top = (1ull << 48) - k1G;
    ASSERT_EQ(n.t.map(Gpa{top}, Hpa{(1ull << 52) - k1G}, k1G, Perm::RW), Status::Ok);
    EXPECT_EQ(n.hpa_at((1ull << 48) - 1), (1ull << 52) - 1);
}

TEST(NestedPaging, NothingWorksBeforeTheRootExists) {
    HeapPages pages;
    NestedPageTable t;
    t.init(NestedFormat::Npt, &pages, true);
    EXPECT_EQ(t.map(Gpa{0}, Hpa{0}, k4K, Perm::RW), Status::Invalid);
    EXPECT_EQ(t.unmap(Gpa{0}, k4K), Status::Invalid);
    EXPECT_FALSE(t.translate(Gpa{0}, nullptr, nullptr, nullptr));
    ASSERT_EQ(t.create_root(), Status::Ok);
    EXPECT_EQ(t.create_root(), Status::Exists);
    EXPECT_EQ(pages.allocated(), 1u);
}

TEST(NestedPaging, RootCreationReportsExhaustion) {
    HeapPages pages{0};
    NestedPageTable t;
    t.init(NestedFormat::Ept, &pages, true);
    EXPECT_EQ(t.create_root(), Status::NoMemory);
}

TEST(NestedPaging, FailedSplitKeepsTheLargeMapping) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{k1G}, k1G, Perm::RW), Status::Ok);
    n.pages.set_limit(n.pages.allocated() + 1);  // enough for one split of two
    EXPECT_EQ(n.t.unmap(Gpa{k4K}, k4K), Status::NoMemory);
    EXPECT_EQ(n.t.protect(Gpa{0}, k4K, Perm::R), Status::NoMemory);
    EXPECT_EQ(n.t.map(Gpa{0}, Hpa{0}, k4K, Perm::R), Status::NoMemory);
    for (u64 g : {u64{0}, k4K, k2M - 1, k1G - 1}) {
        EXPECT_EQ(n.hpa_at(g), k1G + g);
        EXPECT_EQ(n.perm_at(g), Perm::RWX);
    }
}

// --- property test against a page-per-cell model ------------------------------------------

constexpr u64 kSpace = 2 * k1G;  // room for 1 GiB leaves, small enough to check page by page
constexpr u64 kPages = kSpace / k4K;

struct Cell {
    u64 hpa;  // ~0: not mapped
    Perm perm;
};

Perm expected_perm(NestedFormat f, Perm p) {
    return f == NestedFormat::Ept ? p : has(p, Perm::W) ? Perm::RWX : Perm::RX;
}

Perm random_perm(NestedFormat f, test::Prng& rng) {
    static constexpr Perm kNpt[] = {Perm::R, Perm::RW, Perm::RX, Perm::RWX};
    static constexpr Perm kEpt[] = {Perm::R, Perm::RW, Perm::RX, Perm::RWX, Perm::X};
    return f == NestedFormat::Npt ? kNpt[rng.below(4)] : kEpt[rng.below(5)];
}

// A range biased towards large-page boundaries, so that large pages and splits happen.
void random_range(test::Prng& rng, u64* start, u64* size) {
    static constexpr u64 kGrain[] = {k4K, k2M, k1G};
    u64 const g = kGrain[rng.below(3)];
    u64 s = rng.below(kSpace / g) * g;
    u64 len = (1 + rng.below(3)) * g;
    if (rng.chance(3))
        s += rng.below(512) * k4K;
    if (rng.chance(3))
        len += rng.below(512) * k4K;
    if (s >= kSpace)
        s = kSpace - k4K;
    *start = s;
    *size = len < kSpace - s ? len : kSpace - s;
}

// Whether translate() agrees with the model about one page (at an offset inside it).
bool page_matches(Npt& n, std::vector<Cell> const& model, u64 page) {
    Hpa h;
    Perm p;
    u64 ps;
    u64 const gpa = page * k4K + (page * 0x123) % k4K;
    bool const mapped = n.t.translate(Gpa{gpa}, &h, &p, &ps);
    Cell const& c = model[page];
    if (!mapped)
        return c.hpa == ~0ull;
    return c.hpa != ~0ull && h.raw == c.hpa + gpa % k4K &&
           p == expected_perm(n.t.format(), c.perm) && (ps == k4K || ps == k2M || ps == k1G);
}

void run_property(NestedFormat format, u64 seed) {
    test::Prng rng{seed};
    Npt n{format, true};
    std::vector<Cell> model(kPages, Cell{~0ull, Perm::None});
    for (int op = 0; op < 300; ++op) {
        u64 start, size;
        random_range(rng, &start, &size);
        u64 const first = start / k4K, count = size / k4K;
        u64 const kind = rng.below(10);
        if (kind < 5) {
            static constexpr u64 kShift[] = {k4K, k2M, k1G};
            u64 const hpa = start + (1 + rng.below(64)) * kShift[rng.below(3)];
            Perm const perm = random_perm(format, rng);
            ASSERT_EQ(n.t.map(Gpa{start}, Hpa{hpa}, size, perm), Status::Ok);
            for (u64 i = 0; i < count; ++i)
                model[first + i] = Cell{hpa + i * k4K, perm};
        } else if (kind < 7) {
            ASSERT_EQ(n.t.unmap(Gpa{start}, size), Status::Ok);
            for (u64 i = 0; i < count; ++i)
                model[first + i] = Cell{~0ull, Perm::None};
        } else {
            bool all = true;
            for (u64 i = 0; i < count && all; ++i)
                all = model[first + i].hpa != ~0ull;
            Perm const perm = random_perm(format, rng);
            ASSERT_EQ(n.t.protect(Gpa{start}, size, perm), all ? Status::Ok : Status::NotFound);
            for (u64 i = 0; i < count && all; ++i)
                model[first + i].perm = perm;
        }
        // The edges of the range, where splits happen, and a random sample.
        for (u64 p : {first, first + count - 1, first + count, first ? first - 1 : 0}) {
            if (p < kPages) {
                ASSERT_TRUE(page_matches(n, model, p)) << "op " << op << " page " << p;
            }
        }
        for (int k = 0; k < 64; ++k) {
            u64 const p = rng.below(kPages);
            ASSERT_TRUE(page_matches(n, model, p)) << "op " << op << " page " << p;
        }
        if (op % 100 == 99) {
            for (u64 p = 0; p < kPages; ++p)
                ASSERT_TRUE(page_matches(n, model, p)) << "op " << op << " page " << p;
        }
    }
}

TEST(NestedPaging, PropertyNptMatchesPagePerCellModelUnderRandomOperations) {
    run_property(NestedFormat::Npt, 0x4e5054);
}

TEST(NestedPaging, PropertyEptMatchesPagePerCellModelUnderRandomOperations) {
    run_property(NestedFormat::Ept, 0x455054);
}

}  // namespace

// --- a hooked BAR that keeps moving: no table pages lost ----------------------------------

namespace {
// One move of an 8 KiB hook from `from` to `to` as the MMIO registry does it: the new pages
// unmapped, every CPU flushed (retired tables become spares), the old pages mapped back and
// their split collapsed.
void move_hook(Npt& n, u64 from, u64 to) {
    ASSERT_EQ(n.t.unmap(Gpa{to}, 2 * k4K), Status::Ok);
    n.t.recycle_retired();
    ASSERT_EQ(n.t.map(Gpa{from}, Hpa{from}, 2 * k4K, Perm::RWX), Status::Ok);
    n.t.collapse(Gpa{from}, 2 * k4K);
}
}  // namespace

TEST(NestedPaging, RepeatedHookMovesToNewPlacesNeedNoNewTables) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{0}, 4 * k1G, Perm::RWX), Status::Ok);
    u64 at = 3 * k1G + 0x3F000000;
    ASSERT_EQ(n.t.unmap(Gpa{at}, 2 * k4K), Status::Ok);  // the hook registered at boot
    for (int i = 0; i < 4; ++i) {  // until the spares cover a move between 1 GiB regions
        u64 const to = (i % 2 ? 3 * k1G : 2 * k1G) + static_cast<u64>(i) * k2M + 0x10000;
        move_hook(n, at, to);
        at = to;
    }
    size_t const settled = n.pages.allocated();
    for (int i = 0; i < 200; ++i) {  // 200 distinct places, across two 1 GiB regions
        u64 const to = (i % 2 ? 3 * k1G : 2 * k1G) + static_cast<u64>(i) * k2M + 0x4000;
        move_hook(n, at, to);
        at = to;
    }
    EXPECT_EQ(n.pages.allocated(), settled);
    EXPECT_EQ(n.t.lost_tables(), 0u);
    EXPECT_FALSE(n.mapped(at));
    EXPECT_FALSE(n.mapped(at + k4K));
    EXPECT_TRUE(n.mapped(at + 2 * k4K));
    EXPECT_EQ(n.hpa_at(2 * k1G + 0x4000), 2 * k1G + 0x4000);  // the first place mapped back
}

TEST(NestedPaging, CollapseMergesOnlyAUniformContiguousTable) {
    Npt n;
    ASSERT_EQ(n.t.map(Gpa{0}, Hpa{0}, k1G, Perm::RWX), Status::Ok);
    ASSERT_EQ(n.t.unmap(Gpa{k2M}, k4K), Status::Ok);
    n.t.collapse(Gpa{k2M}, k4K);  // a hole: stays split
    EXPECT_FALSE(n.mapped(k2M));
    EXPECT_EQ(n.t.retired_tables(), 0u);
    ASSERT_EQ(n.t.map(Gpa{k2M}, Hpa{5 * k2M}, k4K, Perm::RWX), Status::Ok);
    n.t.collapse(Gpa{k2M}, k4K);  // mapped elsewhere: not contiguous, stays split
    EXPECT_EQ(n.size_at(k2M), k4K);
    ASSERT_EQ(n.t.map(Gpa{k2M}, Hpa{k2M}, k4K, Perm::R), Status::Ok);
    n.t.collapse(Gpa{k2M}, k4K);  // other permissions: stays split
    EXPECT_EQ(n.size_at(k2M), k4K);
    ASSERT_EQ(n.t.map(Gpa{k2M}, Hpa{k2M}, k4K, Perm::RWX), Status::Ok);
    n.t.collapse(Gpa{k2M}, k4K);
    EXPECT_EQ(n.size_at(k2M), k1G);  // both levels merged again
    EXPECT_EQ(n.t.retired_tables(), 2u);
    EXPECT_EQ(n.t.spare_tables(), 0u);  // not reused before the flush
    n.t.recycle_retired();
    EXPECT_EQ(n.t.spare_tables(), 2u);
}
