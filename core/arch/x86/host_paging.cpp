#include "core/arch/x86/host_paging.hpp"

#include <string.h>

#include "core/layout.hpp"

namespace tv::x86 {

namespace {
constexpr u64 kPresentWrite = 0x3;
constexpr u64 kLarge = 0x80;

struct TableArena {
    u64 next, end, access_offset;
    u64 take() {
        if (next >= end) return 0;
        u64 p = next;
        next += kPageSize;
        memset(reinterpret_cast<void*>(p + access_offset), 0, kPageSize);
        return p;
    }
    u64* table(u64 phys) const { return reinterpret_cast<u64*>(phys + access_offset); }
};

constexpr u64 index(u64 va, int level) { return (va >> (12 + 9 * level)) & 511; }
}  // namespace

u64 build_host_page_tables(HostPagingPlan const& plan, u64 table_base, u64 max_pages, u64 access_offset,
                           u64* pages_used) {
    TableArena a{table_base, table_base + max_pages * kPageSize, access_offset};
    u64 pml4 = a.take();
    if (!pml4) return 0;

    // Kernel window: 2 MiB pages from kImageVirt onto the region.
    u64 pdpt_k = a.take(), pd_k = a.take();
    if (!pdpt_k || !pd_k) return 0;
    a.table(pml4)[index(kImageVirt, 3)] = pdpt_k | kPresentWrite;
    a.table(pdpt_k)[index(kImageVirt, 2)] = pd_k | kPresentWrite;
    for (u64 off = 0; off < plan.region_size; off += kLargePageSize)
        a.table(pd_k)[index(kImageVirt + off, 1)] = (plan.region_base + off) | kPresentWrite | kLarge;

    // Direct map.
    for (u64 gib = 0; gib < plan.direct_limit / kHugePageSize; ++gib) {
        u64 va = kDirectMapBase + gib * kHugePageSize;
        u64& l4 = a.table(pml4)[index(va, 3)];
        if (!l4) {
            u64 t = a.take();
            if (!t) return 0;
            l4 = t | kPresentWrite;
        }
        u64* pdpt = a.table(l4 & ~0xFFFull);
        if (plan.use_1g_pages) {
            pdpt[index(va, 2)] = gib * kHugePageSize | kPresentWrite | kLarge;
            continue;
        }
        u64 pd = a.take();
        if (!pd) return 0;
        pdpt[index(va, 2)] = pd | kPresentWrite;
        for (u64 i = 0; i < 512; ++i)
            a.table(pd)[i] = (gib * kHugePageSize + i * kLargePageSize) | kPresentWrite | kLarge;
    }
    *pages_used = (a.next - table_base) / kPageSize;
    return pml4;
}

}  // namespace tv::x86
