// The monitor's uncached window for device memory: page-table entries it writes, address
// handling, and what happens when table pages run out.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "core/arch/x86/host_paging.hpp"

using namespace tv;
using namespace tv::x86;

namespace {

// Table pages from the heap; a page's "physical" address is its host address.
class HeapPages final : public PageSource {
  public:
    ~HeapPages() {
        for (void* p : pages_) free(p);
    }
    Status alloc_zeroed_page(Hpa* out) override {
        if (limit_ == 0) return Status::NoMemory;
        --limit_;
        void* p = aligned_alloc(4096, 4096);
        memset(p, 0, 4096);
        pages_.push_back(p);
        *out = Hpa{reinterpret_cast<u64>(p)};
        return Status::Ok;
    }
    void* to_virt(Hpa h) override { return reinterpret_cast<void*>(h.raw); }
    void* page() {
        Hpa h;
        EXPECT_EQ(alloc_zeroed_page(&h), Status::Ok);
        return to_virt(h);
    }
    int limit_ = 1000;

  private:
    std::vector<void*> pages_;
};

std::vector<u64> g_invalidated;
void record(u64 va) { g_invalidated.push_back(va); }

u64 pte_of(HeapPages& src, u64* pml4, u64 va) {
    u64* t = pml4;
    for (int level = 3; level > 0; --level) {
        u64 e = t[(va >> (12 + 9 * level)) & 511];
        if (!(e & 1)) return 0;
        t = static_cast<u64*>(src.to_virt(Hpa{e & 0x000FFFFFFFFFF000ull}));
    }
    return t[(va >> 12) & 511];
}

}  // namespace

TEST(IoWindow, MapsDeviceMemoryUncachedAndKeepsTheOffsetInThePage) {
    HeapPages src;
    auto* pml4 = static_cast<u64*>(src.page());
    IoWindow w;
    ASSERT_EQ(w.init(pml4, &src, record), Status::Ok);
    u8 volatile* p = nullptr;
    ASSERT_EQ(w.map(Hpa{0xFEBF1010}, 0x20, &p), Status::Ok);
    u64 const va = reinterpret_cast<u64>(p);
    EXPECT_EQ(va, kIoWindowBase + 0x10);
    u64 const e = pte_of(src, pml4, va);
    EXPECT_EQ(e & 0x000FFFFFFFFFF000ull, 0xFEBF1000u);
    EXPECT_EQ(e & 0x1F, 0x1Fu & ~0x4u);  // P, RW, PWT, PCD; not user
    EXPECT_EQ(e & 0x80, 0u);             // PAT bit clear: PAT entry 3, UC
}

TEST(IoWindow, RangesCrossingPagesGetEveryPageAndNeverShareAddresses) {
    HeapPages src;
    auto* pml4 = static_cast<u64*>(src.page());
    IoWindow w;
    ASSERT_EQ(w.init(pml4, &src, record), Status::Ok);
    u8 volatile *a = nullptr, *b = nullptr;
    ASSERT_EQ(w.map(Hpa{0x8'0000'0FF0ull}, 0x20, &a), Status::Ok);  // two pages, above 4 GiB
    ASSERT_EQ(w.map(Hpa{0xFEBC0000}, 0x20000, &b), Status::Ok);
    u64 const va = reinterpret_cast<u64>(a);
    EXPECT_EQ(pte_of(src, pml4, va) & 0x000FFFFFFFFFF000ull, 0x8'0000'0000ull);
    EXPECT_EQ(pte_of(src, pml4, va + 0x10) & 0x000FFFFFFFFFF000ull, 0x8'0000'1000ull);
    EXPECT_EQ(reinterpret_cast<u64>(b), kIoWindowBase + 0x2000);
    EXPECT_EQ(pte_of(src, pml4, reinterpret_cast<u64>(b) + 0x1F000) & 0x000FFFFFFFFFF000ull, 0xFEBDF000u);
}

TEST(IoWindow, UnmapClearsEveryPageAndInvalidatesIt) {
    HeapPages src;
    auto* pml4 = static_cast<u64*>(src.page());
    IoWindow w;
    ASSERT_EQ(w.init(pml4, &src, record), Status::Ok);
    u8 volatile* p = nullptr;
    ASSERT_EQ(w.map(Hpa{0xFEBC0000}, 0x3000, &p), Status::Ok);
    g_invalidated.clear();
    w.unmap(p, 0x3000);
    u64 const va = reinterpret_cast<u64>(p);
    for (u64 off = 0; off < 0x3000; off += 0x1000) EXPECT_EQ(pte_of(src, pml4, va + off), 0u);
    EXPECT_EQ(g_invalidated, (std::vector<u64>{va, va + 0x1000, va + 0x2000}));
}

TEST(IoWindow, RefusesASlotAlreadyInUseAndReportsExhaustedTables) {
    HeapPages src;
    auto* pml4 = static_cast<u64*>(src.page());
    pml4[(kIoWindowBase >> 39) & 511] = 0x1003;
    IoWindow w;
    EXPECT_EQ(w.init(pml4, &src, record), Status::Invalid);
    pml4[(kIoWindowBase >> 39) & 511] = 0;
    ASSERT_EQ(w.init(pml4, &src, record), Status::Ok);
    src.limit_ = 1;  // a PDPT but no page directory
    u8 volatile* p = nullptr;
    EXPECT_EQ(w.map(Hpa{0xFEBC0000}, 0x1000, &p), Status::NoMemory);
    u8 volatile* q = nullptr;
    EXPECT_EQ(w.map(Hpa{0xFEBC0000}, 0, &q), Status::Invalid);
}

TEST(IoWindow, RemapPointsTheSamePagesAtTheNewPlaceWithoutNewTables) {
    HeapPages src;
    auto* pml4 = static_cast<u64*>(src.page());
    IoWindow w;
    ASSERT_EQ(w.init(pml4, &src, record), Status::Ok);
    u8 volatile* p = nullptr;
    ASSERT_EQ(w.map(Hpa{0xFEBF0000}, 0x2000, &p), Status::Ok);
    int const tables = src.limit_;
    u64 const va = reinterpret_cast<u64>(p);
    for (int i = 0; i < 1000; ++i) {  // a BAR moved back and forth: the window never grows
        u64 const from = i % 2 ? 0xFEBE0000 : 0xFEBF0000, to = i % 2 ? 0xFEBF0000 : 0xFEBE0000;
        g_invalidated.clear();
        u8 volatile* q = nullptr;
        ASSERT_EQ(w.remap(p, Hpa{from}, Hpa{to}, 0x2000, &q), Status::Ok);
        EXPECT_EQ(reinterpret_cast<u64>(q), va);
        EXPECT_EQ(pte_of(src, pml4, va + 0x1000) & 0x000FFFFFFFFFF000ull, to + 0x1000);
        EXPECT_EQ(g_invalidated, (std::vector<u64>{va, va + 0x1000}));
    }
    EXPECT_EQ(src.limit_, tables);
    u8 volatile* q = nullptr;
    EXPECT_EQ(w.remap(p, Hpa{0xFEBE0000}, Hpa{0xFEBD0800}, 0x2000, &q), Status::Invalid);  // three pages
}
