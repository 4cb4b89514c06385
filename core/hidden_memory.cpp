#include "core/hidden_memory.hpp"

#include <string.h>

#include "core/exit_stats.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/memory.hpp"

namespace tv {

namespace {

constexpr u32 kMaxStepped = 8;  // pages one instruction may touch (rep movs across pages, ...)
constexpr u64 kLoggedAccesses = 8;

struct Hidden {
    u64 base, size;
    Hpa zero_page, scratch_page;
    u64 stepped[kMaxStepped];
    u32 nstepped;
    bool stepping;
    u64 accesses;
};
Hidden g_hidden;

void unmap_stepped(Vcpu& v) {
    for (u32 i = 0; i < g_hidden.nstepped; ++i)
        if (!ok(machine().nested.map(Gpa{g_hidden.stepped[i]}, Hpa{0}, kPageSize, Perm::None)))
            log("hidden: could not unmap %#llx", static_cast<unsigned long long>(g_hidden.stepped[i]));
    g_hidden.nstepped = 0;
    memset(hpa_virt(g_hidden.scratch_page), 0, kPageSize);
    v.flush_nested_tlb();
}

}  // namespace

Status hidden_memory_init(u64 base, u64 size) {
    g_hidden.base = base;
    g_hidden.size = size;
    g_hidden.zero_page = alloc_pages(1);
    g_hidden.scratch_page = alloc_pages(1);
    if (!g_hidden.zero_page.raw || !g_hidden.scratch_page.raw) return Status::NoMemory;
    return machine().nested.unmap(Gpa{base}, size);
}

bool hidden_memory_contains(u64 gpa) { return gpa >= g_hidden.base && gpa - g_hidden.base < g_hidden.size; }

void hidden_memory_fault(Vcpu& v, NestedFaultExit const& f) {
    u64 page = align_down(f.gpa, kPageSize);
    ++g_hidden.accesses;
    stats_count(Event::HiddenAccess);
    if (g_hidden.accesses <= kLoggedAccesses)
        log("hidden: guest %s of monitor memory at %#llx (rip %#llx) -> %s", f.write ? "write" : f.fetch ? "fetch" : "read",
            static_cast<unsigned long long>(f.gpa), static_cast<unsigned long long>(v.rip()),
            f.write ? "dropped" : "zeros");
    u32 slot = g_hidden.nstepped;
    for (u32 i = 0; i < g_hidden.nstepped; ++i)
        if (g_hidden.stepped[i] == page) slot = i;  // read-mapped page now written: remap
    if (slot == kMaxStepped) {
        unmap_stepped(v);
        slot = 0;
    }
    Hpa target = f.write ? g_hidden.scratch_page : g_hidden.zero_page;
    Perm perm = f.write ? Perm::RWX : Perm::RX;
    if (!ok(machine().nested.map(Gpa{page}, target, kPageSize, perm))) {
        log("hidden: cannot map a stand-in page; injecting #GP");
        v.inject_exception(13, true, 0);
        return;
    }
    if (slot == g_hidden.nstepped) g_hidden.stepped[g_hidden.nstepped++] = page;
    v.flush_nested_tlb();
    v.set_single_step(true);
    g_hidden.stepping = true;
}

bool hidden_memory_step_done(Vcpu& v) {
    if (!g_hidden.stepping) return false;
    g_hidden.stepping = false;
    v.set_single_step(false);
    unmap_stepped(v);
    return true;
}

}  // namespace tv
