#include "core/hidden_memory.hpp"

#include <string.h>

#include "core/exit_stats.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/memory.hpp"
#include "core/smp.hpp"

namespace tv {

namespace {

constexpr u32 kMaxStepped = 8;  // pages one instruction may touch (rep movs across pages, ...)
constexpr u64 kLoggedAccesses = 8;

// Each CPU steps its own instruction; the stand-in pages and the nested tables are shared.
// Another CPU may meanwhile reach a stand-in page through the shared entry or a stale TLB
// entry: it only ever sees the zero page or the scratch page, never monitor memory, so the
// stand-ins being visible a little longer than one instruction is harmless.
struct Step {
    u64 stepped[kMaxStepped];
    u32 nstepped;
    bool stepping;
};

struct Hidden {
    u64 base, size;
    Hpa zero_page, scratch_page;
    u64 accesses;
    Step cpu[kMaxCpus];
};
constinit Hidden g_hidden{};

void unmap_stepped(Vcpu& v, Step& s) {
    for (u32 i = 0; i < s.nstepped; ++i)
        if (!ok(machine().nested.map(Gpa{s.stepped[i]}, Hpa{0}, kPageSize, Perm::None)))
            log("hidden: could not unmap %#llx", static_cast<unsigned long long>(s.stepped[i]));
    s.nstepped = 0;
    memset(hpa_virt(g_hidden.scratch_page), 0, kPageSize);  // a later read-modify-write reads zeros
    v.flush_nested_tlb();
    nested_tlb_changed();
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
    Step& s = g_hidden.cpu[v.id()];
    u64 page = align_down(f.gpa.raw, kPageSize);
    u64 const n = __atomic_add_fetch(&g_hidden.accesses, 1, __ATOMIC_RELAXED);
    stats_count(Event::HiddenAccess);
    if (n <= kLoggedAccesses)
        log("hidden: guest %s of monitor memory at %#llx (rip %#llx) -> %s", f.write ? "write" : f.fetch ? "fetch" : "read",
            static_cast<unsigned long long>(f.gpa.raw), static_cast<unsigned long long>(v.rip()),
            f.write ? "dropped" : "zeros");
    u32 slot = s.nstepped;
    for (u32 i = 0; i < s.nstepped; ++i)
        if (s.stepped[i] == page) slot = i;  // read-mapped page now written: remap
    if (slot == kMaxStepped) {
        unmap_stepped(v, s);
        slot = 0;
    }
    Hpa target = f.write ? g_hidden.scratch_page : g_hidden.zero_page;
    Perm perm = f.write ? Perm::RWX : Perm::RX;
    if (!ok(machine().nested.map(Gpa{page}, target, kPageSize, perm))) {
        log("hidden: cannot map a stand-in page; injecting #GP");
        v.inject_exception(13, true, 0);
        return;
    }
    if (slot == s.nstepped) s.stepped[s.nstepped++] = page;
    v.flush_nested_tlb();
    v.set_single_step(true);
    s.stepping = true;
}

bool hidden_memory_step_done(Vcpu& v) {
    Step& s = g_hidden.cpu[v.id()];
    if (!s.stepping) return false;
    s.stepping = false;
    v.set_single_step(false);
    unmap_stepped(v, s);
    return true;
}

}  // namespace tv
