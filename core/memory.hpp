// The monitor's own physical memory: pages from its carved-out region, plus a heap.
#pragma once

#include "core/layout.hpp"
#include "core/types.hpp"

namespace tv {

class PageAllocator;

void memory_init(u64 free_base, u64 free_end);
// Zeroed, contiguous pages from the monitor region; Hpa{0} when exhausted.
[[nodiscard]] Hpa alloc_pages(u64 count, u64 align_pages = 1);
void free_pages(Hpa base, u64 count);
u64 free_page_count();
inline void* hpa_virt(Hpa h) { return phys_to_virt(h.raw); }

}  // namespace tv
