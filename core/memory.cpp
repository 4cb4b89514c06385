#include "core/memory.hpp"

#include <string.h>

#include "core/page_alloc.hpp"
#include "core/panic.hpp"
#include "lib/spinlock.hpp"

namespace tv {

namespace {
constexpr u64 kMaxPages = (256ull << 20) / kPageSize;
u64 g_bitmap[kMaxPages / 64];
PageAllocator g_pages;
SpinLock g_lock;
}  // namespace

void memory_init(u64 free_base, u64 free_end) {
    u64 n = (free_end - free_base) / kPageSize;
    if (n > kMaxPages) n = kMaxPages;
    g_pages.init(Hpa{free_base}, n, g_bitmap, sizeof g_bitmap / sizeof g_bitmap[0]);
}

Hpa alloc_pages(u64 count, u64 align_pages) {
    Hpa h{0};
    {
        LockGuard guard(g_lock);
        if (!ok(g_pages.alloc(count, align_pages, &h))) return Hpa{0};
    }
    memset(hpa_virt(h), 0, count * kPageSize);
    return h;
}

void free_pages(Hpa base, u64 count) {
    LockGuard guard(g_lock);
    if (!ok(g_pages.free(base, count)))  // a double free is a monitor bug: stop before it spreads
        panic("freeing pages %#llx+%llu that are not allocated", static_cast<unsigned long long>(base.raw),
              static_cast<unsigned long long>(count));
}

u64 free_page_count() { return g_pages.free_pages(); }

}  // namespace tv
