#include "core/page_alloc.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/prng.hpp"

using namespace tv;

namespace {

constexpr u64 kBase = 0x4000000;  // 64 MiB: aligned to everything the tests ask for

struct Fixture {
    std::vector<u64> words;
    PageAllocator a;

    explicit Fixture(u64 npages, u64 base = kBase, size_t nwords = 0)
        : words(nwords ? nwords : (npages + 63) / 64 + 1, 0xA5A5A5A5A5A5A5A5ull) {
        a.init(Hpa{base}, npages, words.data(), words.size());
    }
};

Hpa page(u64 i) { return Hpa{kBase + i * kPageSize}; }

TEST(PageAllocator, FreshRegionIsAllFree) {
    Fixture f{100};
    EXPECT_EQ(f.a.free_pages(), 100u);
    EXPECT_EQ(f.a.total_pages(), 100u);
    EXPECT_EQ(f.a.base(), Hpa{kBase});
}

TEST(PageAllocator, ContainsExactlyTheRegion) {
    Fixture f{10};
    EXPECT_FALSE(f.a.contains(Hpa{kBase - 1}));
    EXPECT_TRUE(f.a.contains(Hpa{kBase}));
    EXPECT_TRUE(f.a.contains(Hpa{kBase + 10 * kPageSize - 1}));
    EXPECT_FALSE(f.a.contains(Hpa{kBase + 10 * kPageSize}));
}

TEST(PageAllocator, RegionIsCutToWhatTheBitmapDescribes) {
    Fixture f{1000, kBase, 2};
    EXPECT_EQ(f.a.total_pages(), 128u);
    EXPECT_EQ(f.a.free_pages(), 128u);
}

TEST(PageAllocator, UnalignedBaseIsRoundedUpLosingThePartialPage) {
    Fixture f{10, kBase + 0x10};
    EXPECT_EQ(f.a.base(), Hpa{kBase + kPageSize});
    EXPECT_EQ(f.a.total_pages(), 9u);
}

TEST(PageAllocator, AllocationsComeLowestFirst) {
    Fixture f{100};
    Hpa a, b, c;
    ASSERT_EQ(f.a.alloc(1, 1, &a), Status::Ok);
    ASSERT_EQ(f.a.alloc(3, 1, &b), Status::Ok);
    ASSERT_EQ(f.a.alloc(1, 1, &c), Status::Ok);
    EXPECT_EQ(a, page(0));
    EXPECT_EQ(b, page(1));
    EXPECT_EQ(c, page(4));
    EXPECT_EQ(f.a.free_pages(), 95u);
}

TEST(PageAllocator, FreedPagesAreReusedFirstFit) {
    Fixture f{100};
    Hpa a, b, c;
    ASSERT_EQ(f.a.alloc(4, 1, &a), Status::Ok);
    ASSERT_EQ(f.a.alloc(4, 1, &b), Status::Ok);
    ASSERT_EQ(f.a.free(a, 4), Status::Ok);
    ASSERT_EQ(f.a.alloc(5, 1, &c), Status::Ok);  // the 4-page gap is too small
    EXPECT_EQ(c, page(8));
    ASSERT_EQ(f.a.alloc(2, 1, &c), Status::Ok);  // but takes 2
    EXPECT_EQ(c, page(0));
}

TEST(PageAllocator, AlignmentIsOfThePhysicalAddressNotTheIndex) {
    u64 const base = 0x101000;  // one page past a 1 MiB boundary
    Fixture f{1024, base};
    Hpa a;
    ASSERT_EQ(f.a.alloc(1, 16, &a), Status::Ok);
    EXPECT_EQ(a.raw, 0x110000u);
    ASSERT_EQ(f.a.alloc(1, 512, &a), Status::Ok);  // 2 MiB aligned
    EXPECT_EQ(a.raw, 0x200000u);
    ASSERT_EQ(f.a.alloc(1, 1, &a), Status::Ok);  // the skipped pages are still there
    EXPECT_EQ(a.raw, base);
}

TEST(PageAllocator, RunsCrossBitmapWords) {
    Fixture f{300};
    Hpa a, b;
    ASSERT_EQ(f.a.alloc(3, 1, &a), Status::Ok);
    ASSERT_EQ(f.a.alloc(200, 1, &b), Status::Ok);
    EXPECT_EQ(b, page(3));
    EXPECT_EQ(f.a.free_pages(), 97u);
    ASSERT_EQ(f.a.free(b, 200), Status::Ok);
    EXPECT_EQ(f.a.free_pages(), 297u);
}

TEST(PageAllocator, EveryPageOfAnOddSizedRegionIsUsableAndNoMore) {
    Fixture f{70};
    for (u64 i = 0; i < 70; ++i) {
        Hpa a;
        ASSERT_EQ(f.a.alloc(1, 1, &a), Status::Ok);
        EXPECT_EQ(a, page(i));
    }
    Hpa a;
    EXPECT_EQ(f.a.alloc(1, 1, &a), Status::NoMemory);
    EXPECT_EQ(f.a.free_pages(), 0u);
}

TEST(PageAllocator, ExhaustionIsNoMemoryAndChangesNothing) {
    Fixture f{64};
    Hpa a;
    ASSERT_EQ(f.a.alloc(60, 1, &a), Status::Ok);
    EXPECT_EQ(f.a.alloc(5, 1, &a), Status::NoMemory);
    EXPECT_EQ(f.a.alloc(4, 8, &a), Status::NoMemory);  // 4 free pages, but not 8-aligned
    EXPECT_EQ(f.a.free_pages(), 4u);
    ASSERT_EQ(f.a.alloc(4, 4, &a), Status::Ok);
    EXPECT_EQ(a, page(60));
}

TEST(PageAllocator, AlignmentBeyondTheRegionIsNoMemory) {
    Fixture f{64};
    Hpa a;
    EXPECT_EQ(f.a.alloc(1, 1ull << 40, &a), Status::NoMemory);
    EXPECT_EQ(f.a.alloc(1, 1ull << 63, &a), Status::NoMemory);
    EXPECT_EQ(f.a.free_pages(), 64u);
}

TEST(PageAllocator, BadAllocArgumentsAreInvalid) {
    Fixture f{64};
    Hpa a;
    EXPECT_EQ(f.a.alloc(0, 1, &a), Status::Invalid);
    EXPECT_EQ(f.a.alloc(1, 3, &a), Status::Invalid);
    ASSERT_EQ(f.a.alloc(1, 0, &a), Status::Ok);  // 0 means unaligned
    EXPECT_EQ(a, page(0));
}

TEST(PageAllocator, DoubleFreeIsDetected) {
    Fixture f{64};
    Hpa a;
    ASSERT_EQ(f.a.alloc(2, 1, &a), Status::Ok);
    ASSERT_EQ(f.a.free(a, 2), Status::Ok);
    EXPECT_EQ(f.a.free(a, 2), Status::Invalid);
    EXPECT_EQ(f.a.free_pages(), 64u);
}

TEST(PageAllocator, FreeOverlappingAFreePageChangesNothing) {
    Fixture f{64};
    Hpa a, b;
    ASSERT_EQ(f.a.alloc(2, 1, &a), Status::Ok);
    ASSERT_EQ(f.a.alloc(1, 1, &b), Status::Ok);
    ASSERT_EQ(f.a.free(a, 1), Status::Ok);
    EXPECT_EQ(f.a.free(a, 3), Status::Invalid);  // its first page is already free
    EXPECT_EQ(f.a.free_pages(), 62u);
    EXPECT_EQ(f.a.free(page(1), 2), Status::Ok);  // the others were still in use
}

TEST(PageAllocator, StrayFreesAreInvalid) {
    Fixture f{64};
    Hpa a;
    ASSERT_EQ(f.a.alloc(64, 1, &a), Status::Ok);
    EXPECT_EQ(f.a.free(Hpa{kBase - kPageSize}, 1), Status::Invalid);
    EXPECT_EQ(f.a.free(page(64), 1), Status::Invalid);
    EXPECT_EQ(f.a.free(page(63), 2), Status::Invalid);  // runs off the end
    EXPECT_EQ(f.a.free(Hpa{kBase + 8}, 1), Status::Invalid);
    EXPECT_EQ(f.a.free(page(0), 0), Status::Invalid);
    EXPECT_EQ(f.a.free(page(1), ~0ull), Status::Invalid);
    EXPECT_EQ(f.a.free_pages(), 0u);
}

TEST(PageAllocator, ReservedPagesAreNeverHandedOut) {
    Fixture f{16};
    ASSERT_EQ(f.a.reserve(page(0), 4), Status::Ok);
    ASSERT_EQ(f.a.reserve(page(8), 2), Status::Ok);
    EXPECT_EQ(f.a.free_pages(), 10u);
    Hpa a;
    ASSERT_EQ(f.a.alloc(4, 1, &a), Status::Ok);
    EXPECT_EQ(a, page(4));
    ASSERT_EQ(f.a.alloc(6, 1, &a), Status::Ok);
    EXPECT_EQ(a, page(10));
    EXPECT_EQ(f.a.alloc(1, 1, &a), Status::NoMemory);
}

TEST(PageAllocator, ReserveOverUsedPagesIsExistsAndChangesNothing) {
    Fixture f{16};
    Hpa a;
    ASSERT_EQ(f.a.alloc(1, 1, &a), Status::Ok);
    EXPECT_EQ(f.a.reserve(page(0), 4), Status::Exists);
    EXPECT_EQ(f.a.free_pages(), 15u);
    ASSERT_EQ(f.a.alloc(1, 1, &a), Status::Ok);
    EXPECT_EQ(a, page(1));
}

TEST(PageAllocator, ReserveOutsideTheRegionIsInvalid) {
    Fixture f{16};
    EXPECT_EQ(f.a.reserve(Hpa{kBase - kPageSize}, 2), Status::Invalid);
    EXPECT_EQ(f.a.reserve(page(15), 2), Status::Invalid);
    EXPECT_EQ(f.a.reserve(Hpa{kBase + 1}, 1), Status::Invalid);
    EXPECT_EQ(f.a.free_pages(), 16u);
}

TEST(PageAllocator, ReservedPagesCanBeFreedLater) {
    Fixture f{16};
    ASSERT_EQ(f.a.reserve(page(2), 2), Status::Ok);
    ASSERT_EQ(f.a.free(page(2), 2), Status::Ok);
    EXPECT_EQ(f.a.free_pages(), 16u);
}

TEST(PageAllocator, EmptyRegionHasNothingToGive) {
    PageAllocator a;
    a.init(Hpa{kBase}, 0, nullptr, 0);
    Hpa h;
    EXPECT_EQ(a.alloc(1, 1, &h), Status::NoMemory);
    EXPECT_EQ(a.free(Hpa{kBase}, 1), Status::Invalid);
    EXPECT_FALSE(a.contains(Hpa{kBase}));
}

// --- property test against a bool-per-page model ------------------------------------------

class Model {
  public:
    Model(u64 npages, u64 base, test::Prng& rng) : f_{npages, base}, used_(npages), rng_{rng} {}

    void step() {
        u64 const kind = rng_.below(10);
        if (kind < 5)
            alloc();
        else if (kind < 8)
            free_live();
        else
            stray(kind == 8);
        ASSERT_EQ(f_.a.free_pages(), free_);
    }

  private:
    u64 npages() const { return used_.size(); }
    Hpa at(u64 i) const { return Hpa{f_.a.base().raw + i * kPageSize}; }

    u64 first_fit(u64 n, u64 align) const {  // npages() if nothing fits
        for (u64 i = 0; i + n <= npages(); ++i) {
            if ((f_.a.base().raw / kPageSize + i) % align != 0)
                continue;
            bool fits = true;
            for (u64 j = i; j < i + n && fits; ++j)
                fits = !used_[j];
            if (fits)
                return i;
        }
        return npages();
    }

    void take(u64 first, u64 n, bool used) {
        for (u64 j = first; j < first + n; ++j)
            used_[j] = used;
        free_ = used ? free_ - n : free_ + n;
    }

    void alloc() {
        u64 const n = 1 + rng_.below(rng_.chance(4) ? 64 : 8);
        u64 const align = 1ull << rng_.below(6);
        u64 const want = first_fit(n, align);
        Hpa got;
        Status const s = f_.a.alloc(n, align, &got);
        if (want == npages()) {
            ASSERT_EQ(s, Status::NoMemory);
            return;
        }
        ASSERT_EQ(s, Status::Ok);
        ASSERT_EQ(got, at(want));
        take(want, n, true);
        live_.push_back({want, n});
    }

    void free_live() {
        if (live_.empty())
            return;
        size_t const k = static_cast<size_t>(rng_.below(live_.size()));
        auto const [first, n] = live_[k];
        ASSERT_EQ(f_.a.free(at(first), n), Status::Ok);
        take(first, n, false);
        live_.erase(live_.begin() + static_cast<long>(k));
    }

    // A free or reserve of pages that may or may not be in use or in the region.
    void stray(bool is_free) {
        u64 const first = rng_.below(npages() + 2), n = 1 + rng_.below(6);
        bool const inside = first + n <= npages();
        bool all_used = inside, all_free = inside;
        for (u64 j = first; inside && j < first + n; ++j) {
            all_used = all_used && used_[j];
            all_free = all_free && !used_[j];
        }
        if (is_free) {
            if (!all_used) {  // valid frees are covered by free_live()
                ASSERT_EQ(f_.a.free(at(first), n), Status::Invalid);
            }
            return;
        }
        Status const s = f_.a.reserve(at(first), n);
        ASSERT_EQ(s, !inside ? Status::Invalid : all_free ? Status::Ok : Status::Exists);
        if (all_free) {
            take(first, n, true);
            live_.push_back({first, n});
        }
    }

    Fixture f_;
    std::vector<bool> used_;
    std::vector<std::pair<u64, u64>> live_;  // (first page, count) handed out or reserved
    u64 free_{used_.size()};
    test::Prng& rng_;
};

TEST(PageAllocator, PropertyMatchesFirstFitModelUnderRandomOperations) {
    test::Prng rng{0xa110c};
    for (int round = 0; round < 20; ++round) {
        u64 const npages = 1 + rng.below(700);
        u64 const base = (0x100 + rng.below(0x1000)) * kPageSize;  // odd alignments too
        Model m{npages, base, rng};
        for (int op = 0; op < 400; ++op)
            ASSERT_NO_FATAL_FAILURE(m.step());
    }
}

}  // namespace
