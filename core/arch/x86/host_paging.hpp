// The monitor's own page tables: the kernel window onto the monitor region, and a direct
// map of all physical memory. Built once, at boot, before the monitor moves itself.
#pragma once

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

}  // namespace tv::x86
