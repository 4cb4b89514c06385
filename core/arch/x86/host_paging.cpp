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

namespace {
constexpr u64 kUncached = 0x18;  // PWT | PCD
constexpr u64 kTableAddr = 0x000FFFFFFFFFF000ull;
}  // namespace

Status IoWindow::init(u64* pml4, PageSource* tables, Invalidate invalidate) {
    if (pml4[index(kIoWindowBase, 3)] != 0) return Status::Invalid;
    pml4_ = pml4;
    tables_ = tables;
    invalidate_ = invalidate;
    next_ = kIoWindowBase;
    return Status::Ok;
}

// The PTE for va, creating the tables above it when `create`; nullptr when missing.
u64* IoWindow::pte(u64 va, bool create) {
    u64* t = pml4_;
    for (int level = 3; level > 0; --level) {
        u64& e = t[index(va, level)];
        if (!e) {
            Hpa page;
            if (!create || !ok(tables_->alloc_zeroed_page(&page))) return nullptr;
            e = page.raw | kPresentWrite;
        }
        t = static_cast<u64*>(tables_->to_virt(Hpa{e & kTableAddr}));
    }
    return &t[index(va, 0)];
}

Status IoWindow::map(Hpa phys, u64 size, u8 volatile** out) {
    if (!pml4_ || size == 0) return Status::Invalid;
    u64 const first = align_down(phys.raw, kPageSize);
    u64 const bytes = align_up(phys.raw + size, kPageSize) - first;
    if (bytes > kIoWindowBase + kIoWindowSize - next_) return Status::NoMemory;
    u64 const va = next_;
    for (u64 off = 0; off < bytes; off += kPageSize) {
        u64* e = pte(va + off, true);
        if (!e) return Status::NoMemory;  // the pages mapped so far stay unused: the window is not reused
        *e = (first + off) | kPresentWrite | kUncached;  // no XD: the monitor runs without EFER.NXE
    }
    next_ += bytes;
    *out = reinterpret_cast<u8 volatile*>(va + (phys.raw - first));
    return Status::Ok;
}

Status IoWindow::remap(u8 volatile* va, Hpa old_phys, Hpa new_phys, u64 size, u8 volatile** out) {
    u64 const pages = (align_up(old_phys.raw + size, kPageSize) - align_down(old_phys.raw, kPageSize)) / kPageSize;
    u64 const first = align_down(new_phys.raw, kPageSize);
    if (!pml4_ || size == 0 || (align_up(new_phys.raw + size, kPageSize) - first) / kPageSize != pages)
        return Status::Invalid;
    u64 const base = align_down(reinterpret_cast<u64>(va), kPageSize);
    for (u64 i = 0; i < pages; ++i)
        if (!pte(base + i * kPageSize, false)) return Status::Invalid;  // not a mapping of this window
    for (u64 i = 0; i < pages; ++i) {
        *pte(base + i * kPageSize, false) = (first + i * kPageSize) | kPresentWrite | kUncached;
        if (invalidate_) invalidate_(base + i * kPageSize);
    }
    *out = reinterpret_cast<u8 volatile*>(base + (new_phys.raw - first));
    return Status::Ok;
}

void IoWindow::unmap(u8 volatile* p, u64 size) {
    u64 const va = reinterpret_cast<u64>(p);
    u64 const first = align_down(va, kPageSize);
    for (u64 a = first; a < va + size; a += kPageSize) {
        u64* e = pte(a, false);
        if (!e) continue;
        *e = 0;
        if (invalidate_) invalidate_(a);
    }
}

}  // namespace tv::x86
