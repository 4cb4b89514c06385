// Intel VT-d translation structures, built once at boot (VT-d specification, "Translation
// Structure Formats"): the root table (one 16-byte entry a bus, pointing at that bus's context
// table), context tables (one 16-byte entry a device/function: present, second-level table
// root, address width, domain), and second-level page tables, which the monitor fills with an
// identity map. Two domains: functions a mediator owns reach all of memory (the monitor
// programs their DMA addresses itself, and they land in its bounce buffers); every other
// function reaches all of memory except the monitor's region. Pure: pages come from a
// PageSource (the monitor's allocator, or a buffer in host tests).
#pragma once

#include "core/nested_paging.hpp"

namespace tv::iommu {

// Second-level entry bits.
inline constexpr u64 kSlRead = 1ull << 0, kSlWrite = 1ull << 1, kSlLarge = 1ull << 7;
inline constexpr u64 kSlAddress = 0x000FFFFFFFFFF000ull;
// Context entry: low qword present bit (translation type 00: second-level tables only), high
// qword address width (1: 39 bits, 3 levels; 2: 48 bits, 4 levels) and domain in 23:8.
inline constexpr u64 kPresent = 1;

struct ContextEntry {
    u64 lo, hi;
};
static_assert(sizeof(ContextEntry) == 16);
using RootEntry = ContextEntry;  // lo: context table | present; hi: reserved

inline constexpr u16 kDomainGuarded = 1, kDomainMediated = 2;

// An identity map of [0, top) with levels 3 or 4, leaving out [hole, hole + hole_size)
// (4 KiB aligned): 2 MiB pages for blocks wholly outside the hole, 4 KiB pages in the blocks
// it touches. *root: the top table. Invalid for top past what `levels` reaches.
[[nodiscard]] Status build_identity(PageSource& ps, u8 levels, u64 top, u64 hole, u64 hole_size, Hpa* root);

// Whether function (bus, devfn) belongs to the mediated domain.
using MediatedFn = bool (*)(void* ctx, u8 bus, u8 devfn);

// The root table: every bus's context table points each function at `guarded`, except
// those `mediated` says yes to, which get `full`. Buses without a mediated function share
// one context table.
[[nodiscard]] Status build_root(PageSource& ps, u8 levels, Hpa guarded, Hpa full, MediatedFn mediated, void* ctx,
                                Hpa* root_table);

// What a device's DMA to `addr` reaches through the tables under `root` (for tests and the
// boot-time self-check): true with *out the address it maps to and *writable.
[[nodiscard]] bool translate(PageSource& ps, Hpa root_table, u8 bus, u8 devfn, u64 addr, u64* out, bool* writable);

}  // namespace tv::iommu
