// Host-physical 4 KiB pages of one contiguous region, tracked in a caller-provided bitmap
// (one bit a page, set = in use). Not thread-safe: the owner wraps it in a lock.
#pragma once

#include "core/types.hpp"

namespace tv {

class PageAllocator {
  public:
    // Manages [base, base + npages pages). An unaligned base is rounded up (losing the
    // partial page); npages is cut to what the nwords bitmap words can describe.
    void init(Hpa base, u64 npages, u64* bitmap_words, size_t nwords);

    // npages contiguous free pages whose host-physical address is a multiple of
    // align_pages pages (a power of two; 0 means 1), lowest address first.
    // Invalid for npages == 0 or a bad alignment, NoMemory when nothing fits.
    [[nodiscard]] Status alloc(u64 npages, u64 align_pages, Hpa* out);

    // Invalid, changing nothing, unless every page is inside the region, page-aligned and
    // currently in use: a double or stray free is reported instead of corrupting the bitmap.
    [[nodiscard]] Status free(Hpa base, u64 npages);

    // Marks pages used that were never handed out (the monitor image, firmware tables).
    // Invalid if the range is unaligned, empty or leaves the region; Exists, changing
    // nothing, if any page in it is already in use.
    [[nodiscard]] Status reserve(Hpa base, u64 npages);

    u64 free_pages() const { return free_; }
    u64 total_pages() const { return npages_; }
    Hpa base() const { return base_; }
    bool contains(Hpa a) const;

  private:
    void set_range(u64 first, u64 n, bool used);
    u64 next_with(bool used, u64 from, u64 limit) const;  // limit if none
    bool range_ok(Hpa base, u64 npages, u64* first) const;

    Hpa base_{0};
    u64 npages_{0};
    u64 free_{0};
    u64* bits_{nullptr};
};

}  // namespace tv
