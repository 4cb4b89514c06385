#include "core/mmio_hooks.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/host_paging.hpp"
#include "core/hidden_memory.hpp"
#include "core/insn/emulate.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/smp.hpp"
#include "lib/spinlock.hpp"

namespace tv {

namespace {

struct MmioHook {
    u64 base = 0, size = 0;           // the claimed range
    u64 page_base = 0, page_end = 0;  // the pages unmapped for it
    MmioHandler fn = nullptr;
    void* ctx = nullptr;
    char const* name = nullptr;
    u8 volatile* device = nullptr;    // page_base in the uncached window
    u64 exits = 0, reads = 0, writes = 0;
    SpinLock lock;  // a mediator's device state and its pass-through, one CPU at a time
};

constexpr size_t kMaxHooks = 16;
constexpr u32 kMaxAgain = 64;  // re-executions of one instruction before it counts as failed

constinit MmioHook g_hooks[kMaxHooks];
size_t g_count;
x86::IoWindow g_window;
struct {
    u64 emulated, again, failed, fetch_refused;
    u64 again_rip;
    u32 again_run;
} g_stats;

void invlpg(u64 va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }

MmioHook* find(u64 gpa) {
    for (size_t i = 0; i < g_count; ++i)
        if (gpa >= g_hooks[i].page_base && gpa < g_hooks[i].page_end) return &g_hooks[i];
    return nullptr;
}

// Why [first, end) may not be claimed: the monitor's memory, or another hook's pages.
Status check_pages(u64 first, u64 end, MmioHook const* except) {
    for (u64 p = first; p < end; p += kPageSize)
        if (hidden_memory_contains(p)) return Status::Refused;
    for (size_t i = 0; i < g_count; ++i)
        if (&g_hooks[i] != except && first < g_hooks[i].page_end && g_hooks[i].page_base < end) return Status::Exists;
    return Status::Ok;
}

// Gives the hook the pages for [base, base + size): window mapping and nested unmapping.
Status claim(MmioHook& h, u64 base, u64 size) {
    u64 const first = align_down(base, kPageSize), end = align_up(base + size, kPageSize);
    u8 volatile* device;
    Status s = g_window.map(Hpa{first}, end - first, &device);
    if (ok(s)) s = machine().nested.unmap(Gpa{first}, end - first);
    if (!ok(s)) return s;
    h.base = base;
    h.size = size;
    h.page_base = first;
    h.page_end = end;
    h.device = device;
    return Status::Ok;
}

// Gives the pages back to the guest as they were: identity-mapped below the boot-time limit,
// mapped on demand above it (see dispatch.cpp).
Status release(MmioHook& h) {
    u64 const len = h.page_end - h.page_base;
    g_window.unmap(h.device, len);
    if (h.page_base >= machine().nested_limit) return Status::Ok;
    return machine().nested.map(Gpa{h.page_base}, Hpa{h.page_base}, len, Perm::RWX);
}

void device_rw(u8 volatile* p, u8 size, bool write, u64* value) {
    switch (size) {
        case 1:
            if (write) *p = static_cast<u8>(*value);
            else *value = *p;
            break;
        case 2:
            if (write) *reinterpret_cast<u16 volatile*>(p) = static_cast<u16>(*value);
            else *value = *reinterpret_cast<u16 volatile*>(p);
            break;
        case 4:
            if (write) *reinterpret_cast<u32 volatile*>(p) = static_cast<u32>(*value);
            else *value = *reinterpret_cast<u32 volatile*>(p);
            break;
        default:
            if (write) *reinterpret_cast<u64 volatile*>(p) = *value;
            else *value = *reinterpret_cast<u64 volatile*>(p);
            break;
    }
}

// An instruction that keeps being re-executed without progress (the monitor cannot reach
// memory the CPU can) must not hang the guest: give up after kMaxAgain rounds.
bool again_gives_up(Vcpu& v) {
    if (g_stats.again_rip != v.rip()) {
        g_stats.again_rip = v.rip();
        g_stats.again_run = 0;
    }
    return ++g_stats.again_run > kMaxAgain;
}

}  // namespace

Status mmio_init(PageSource* tables) {
    auto* pml4 = static_cast<u64*>(phys_to_virt(x86::read_cr3() & ~0xFFFull));
    return g_window.init(pml4, tables, invlpg);
}

Status mmio_hook_register(Gpa base, u64 size, MmioHandler fn, void* ctx, char const* name, MmioHookId* id) {
    if (size == 0 || base.raw + size < base.raw || !fn) return Status::Invalid;
    if (g_count == kMaxHooks) return Status::NoMemory;
    Status s = check_pages(align_down(base.raw, kPageSize), align_up(base.raw + size, kPageSize), nullptr);
    MmioHook h{};
    if (ok(s)) s = claim(h, base.raw, size);
    if (!ok(s)) return s;
    h.fn = fn;
    h.ctx = ctx;
    h.name = name;
    if (id) id->raw = static_cast<u8>(g_count);
    g_hooks[g_count++] = h;
    log("mmio: hook %s claims %#llx-%#llx", name, static_cast<unsigned long long>(base.raw),
        static_cast<unsigned long long>(base.raw + size - 1));
    return Status::Ok;
}

Status mmio_hook_move(Vcpu& v, MmioHookId id, Gpa new_base) {
    if (id.raw >= g_count) return Status::Invalid;
    MmioHook& h = g_hooks[id.raw];
    if (new_base.raw == h.base) return Status::Ok;
    if (new_base.raw + h.size < new_base.raw) return Status::Invalid;
    Status s = check_pages(align_down(new_base.raw, kPageSize), align_up(new_base.raw + h.size, kPageSize), &h);
    if (!ok(s)) return s;
    MmioHook const old = h;
    if (!ok(s = release(h)) || !ok(s = claim(h, new_base.raw, h.size))) {
        log("mmio: moving hook %s failed half-way (status %u)", h.name, static_cast<unsigned>(s));
        return s;
    }
    v.flush_nested_tlb();
    nested_tlb_changed();
    log("mmio: hook %s follows its device from %#llx to %#llx", h.name, static_cast<unsigned long long>(old.base),
        static_cast<unsigned long long>(h.base));
    return Status::Ok;
}

Gpa mmio_hook_base(MmioHookId id) { return Gpa{id.raw < g_count ? g_hooks[id.raw].base : 0}; }

bool mmio_hooked(u64 gpa) { return find(gpa) != nullptr; }

bool mmio_device_access(Gpa gpa, u8 size, bool write, u64* value) {
    MmioHook* h = find(gpa.raw);
    if (!h || gpa.raw + size > h->page_end) return false;
    device_rw(h->device + (gpa.raw - h->page_base), size, write, value);
    return true;
}

bool mmio_access(Vcpu& v, Gpa gpa, u8 size, bool write, u64* value) {
    MmioHook* h = find(gpa.raw);
    if (!h || gpa.raw + size > h->page_end) {
        log("mmio: access of %u bytes at %#llx leaves the hooked pages", size, static_cast<unsigned long long>(gpa.raw));
        return false;
    }
    __atomic_fetch_add(write ? &h->writes : &h->reads, 1, __ATOMIC_RELAXED);
    bool const mine = gpa.raw < h->base + h->size && gpa.raw + size > h->base;
    if (!write) *value = 0;
    LockGuard guard(h->lock);
    if (mine && h->fn(h->ctx, v, gpa, size, write, value) == MmioAction::Handled) return true;
    device_rw(h->device + (gpa.raw - h->page_base), size, write, value);
    return true;
}

void mmio_fault(Vcpu& v, NestedFaultExit const& f) {
    MmioHook* h = find(f.gpa.raw);
    if (h) __atomic_fetch_add(&h->exits, 1, __ATOMIC_RELAXED);
    if (f.fetch) {  // code in device memory: nothing to decode it from
        ++g_stats.fetch_refused;
        log("mmio: guest executes from hooked device memory at %#llx; injecting #GP", static_cast<unsigned long long>(f.gpa.raw));
        v.inject_exception(13, true, 0);
        return;
    }
    switch (insn::emulate_at_rip(v)) {
        case insn::EmulateResult::Done:
            ++g_stats.emulated;
            g_stats.again_run = 0;
            return;
        case insn::EmulateResult::Again:
            ++g_stats.again;
            if (!again_gives_up(v)) return;
            log("mmio: the instruction at rip %#llx makes no progress; injecting #GP", static_cast<unsigned long long>(v.rip()));
            break;
        case insn::EmulateResult::Failed: break;
    }
    ++g_stats.failed;
    g_stats.again_run = 0;
    v.inject_exception(13, true, 0);
}

Status mmio_hooks_reapply(Gpa base, u64 size) {
    for (size_t i = 0; i < g_count; ++i) {
        MmioHook const& h = g_hooks[i];
        u64 const first = h.page_base > base.raw ? h.page_base : base.raw;
        u64 const end = h.page_end < base.raw + size ? h.page_end : base.raw + size;
        if (first >= end) continue;
        Status const s = machine().nested.unmap(Gpa{first}, end - first);
        if (!ok(s)) return s;
    }
    return Status::Ok;
}

void mmio_hooks_log() {
    for (size_t i = 0; i < g_count; ++i) {
        MmioHook const& h = g_hooks[i];
        log("mmio: hook %s (%#llx-%#llx): %llu exits, %llu reads, %llu writes", h.name,
            static_cast<unsigned long long>(h.base), static_cast<unsigned long long>(h.base + h.size - 1),
            static_cast<unsigned long long>(h.exits), static_cast<unsigned long long>(h.reads),
            static_cast<unsigned long long>(h.writes));
    }
    if (g_count)
        log("mmio: %llu instructions emulated, %llu re-executed, %llu emulation failures", static_cast<unsigned long long>(g_stats.emulated),
            static_cast<unsigned long long>(g_stats.again), static_cast<unsigned long long>(g_stats.failed + g_stats.fetch_refused));
}

}  // namespace tv
