// The monitor's own page tables: the kernel window onto the monitor region, and a direct
// map of all physical memory. Built once, at boot, before the monitor moves itself.
#pragma once

#include "core/nested_paging.hpp"  // PageSource
#include "core/types.hpp"

namespace tv::x86 {

struct HostPagingPlan {
    u64 region_base;    // physical home of the monitor (2 MiB aligned)
    u64 region_size;
    u64 direct_limit;   // direct-map physical memory [0, direct_limit), 1 GiB granular
    bool use_1g_pages;
};

// Writes the tables into [table_base, table_base + max_pages * 4 KiB), which must be
// reachable through `access_offset + phys`. Returns the PML4 address or 0 if it does not fit.
u64 build_host_page_tables(HostPagingPlan const& plan, u64 table_base, u64 max_pages, u64 access_offset,
                           u64* pages_used);

// Device memory mapped uncached for the monitor's own accesses (the MMIO hooks' pass-through).
// The direct map is write-back and covers RAM and the space below 4 GiB only; a second,
// uncached direct map would cost page tables for every GiB and still miss 64-bit BARs far
// above RAM. This window instead maps exactly the ranges asked for, wherever they are, with
// 4 KiB pages marked PCD|PWT: PAT entry 3, UC in the power-on PAT (the monitor never
// reprograms its PAT), so neither the MTRRs nor the PAT can make the access cacheable.
// One PML4 slot of address space, handed out upwards and never reused, so a stale TLB entry
// can only ever point at a range the monitor no longer uses.
inline constexpr u64 kIoWindowBase = 0xFFFFFE8000000000ull;  // PML4 slot 509
inline constexpr u64 kIoWindowSize = 512ull << 30;

class IoWindow {
  public:
    using Invalidate = void (*)(u64 va);

    // pml4: the live top-level table, writable; tables: where page-table pages come from;
    // invalidate: drops one page's translation (INVLPG). Invalid if the slot is in use.
    [[nodiscard]] Status init(u64* pml4, PageSource* tables, Invalidate invalidate);
    // Maps [phys, phys + size) (any alignment; whole pages are mapped) and returns the
    // address of `phys` in the window. NoMemory when the window or the tables run out.
    [[nodiscard]] Status map(Hpa phys, u64 size, u8 volatile** out);
    // Unmaps what map() returned for the same phys and size.
    void unmap(u8 volatile* va, u64 size);
    // Points the window pages of an earlier map(old_phys, size) at new_phys instead (a
    // device that moved), reusing the window's address space and tables. Invalid when the
    // new range needs a different number of pages. Only this CPU's translations are
    // invalidated: another CPU must INVLPG a page before it uses it again.
    [[nodiscard]] Status remap(u8 volatile* va, Hpa old_phys, Hpa new_phys, u64 size, u8 volatile** out);

  private:
    u64* pte(u64 va, bool create);

    u64* pml4_{nullptr};
    PageSource* tables_{nullptr};
    Invalidate invalidate_{nullptr};
    u64 next_{kIoWindowBase};
};

}  // namespace tv::x86
