#include "core/mmio_hooks.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/host_paging.hpp"
#include "core/device/hook_move.hpp"
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
    Device* owner = nullptr;  // its state and the pass-through, one CPU at a time
};

constexpr size_t kMaxHooks = 48;  // the ECAM pages of gated functions count too (drivers/pci/bus_master.hpp)
constexpr u32 kMaxAgain = 64;  // re-executions of one instruction before it counts as failed

constinit MmioHook g_hooks[kMaxHooks];
size_t g_count;
constinit Device g_solo[kMaxHooks];  // for hooks registered without a device
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

// Gives [first, end) back to the guest as it was: identity-mapped below the boot-time limit,
// mapped on demand above it (see dispatch.cpp); the large page a claim split is merged again.
Status give_back(u64 first, u64 end) {
    if (first >= machine().nested_limit) return Status::Ok;
    Status const s = machine().nested.map(Gpa{first}, Hpa{first}, end - first, Perm::RWX);
    if (ok(s)) machine().nested.collapse(Gpa{first}, end - first);
    return s;
}

// The monitor's translation of a window page may be stale on this CPU: another CPU pointed it
// at the device's new place (mmio_hook_move). One INVLPG per page an access touches.
u8 volatile* window_at(MmioHook const& h, u64 gpa, u8 size) {
    u8 volatile* const p = h.device + (gpa - h.page_base);
    invlpg(reinterpret_cast<u64>(p));
    if (((gpa + size - 1) ^ gpa) & ~(kPageSize - 1)) invlpg(reinterpret_cast<u64>(p) + size - 1);
    return p;
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
    if (g_count == kMaxHooks) return Status::NoMemory;
    return mmio_hook_register(g_solo[g_count], base, size, fn, ctx, name, id);
}

Device* mmio_hook_device(MmioHookId id) { return id.raw < g_count ? g_hooks[id.raw].owner : nullptr; }

Status mmio_hook_register(Device& dev, Gpa base, u64 size, MmioHandler fn, void* ctx, char const* name, MmioHookId* id) {
    if (size == 0 || base.raw + size < base.raw || !fn) return Status::Invalid;
    if (g_count == kMaxHooks) return Status::NoMemory;
    Status s = check_pages(align_down(base.raw, kPageSize), align_up(base.raw + size, kPageSize), nullptr);
    MmioHook h{};
    if (ok(s)) s = claim(h, base.raw, size);
    if (!ok(s)) return s;
    h.fn = fn;
    h.ctx = ctx;
    h.name = name;
    h.owner = &dev;
    if (id) id->raw = static_cast<u8>(g_count);
    g_hooks[g_count++] = h;
    log("mmio: hook %s claims %#llx-%#llx", name, static_cast<unsigned long long>(base.raw),
        static_cast<unsigned long long>(base.raw + size - 1));
    return Status::Ok;
}

namespace {

// Whether the hook can follow its device to new_base, before anything changes.
Status can_follow(MmioHook const& h, u64 new_base) {
    if (new_base + h.size < new_base || new_base + h.size > NestedPageTable::kGpaLimit) return Status::Invalid;
    u64 const first = align_down(new_base, kPageSize), end = align_up(new_base + h.size, kPageSize);
    if (end - first != h.page_end - h.page_base) return Status::Unsupported;  // the window keeps its pages
    if (!nested_tlb_flush_all_possible()) return Status::Unsupported;
    if (!h.owner->locked()) return Status::Invalid;  // the caller must hold the device lock
    return check_pages(first, end, &h);
}

}  // namespace

namespace {

// The steps of a move (core/device/hook_move.hpp) on the monitor's tables and window.
class MonitorMoveSteps final : public HookMoveSteps {
  public:
    MonitorMoveSteps(Vcpu& v, MmioHook& h, void (*move_device)(void*), void* ctx)
        : v_(v), h_(h), move_device_(move_device), ctx_(ctx) {}
    Status take(u64 first, u64 end) override { return machine().nested.unmap(Gpa{first}, end - first); }
    void give_back(u64 first, u64 end) override {
        if (Status const s = tv::give_back(first, end); !ok(s))
            log("mmio: hook %s: pages %#llx-%#llx not mapped back (status %u)", h_.name,
                static_cast<unsigned long long>(first), static_cast<unsigned long long>(end - 1),
                static_cast<unsigned>(s));
    }
    void flush_all() override {
        nested_tlb_flush_all(v_);
        machine().nested.recycle_retired();  // retired before this flush: unreachable now
    }
    void move_device() override { move_device_(ctx_); }
    Status follow_window(u64 old_first, u64 first, u64 end) override {
        return g_window.remap(h_.device, Hpa{old_first}, Hpa{first}, end - first, &h_.device);
    }

  private:
    Vcpu& v_;
    MmioHook& h_;
    void (*move_device_)(void*);
    void* ctx_;
};

}  // namespace

Status mmio_hook_move(Vcpu& v, MmioHookId id, Gpa new_base, void (*move_device)(void*), void* ctx) {
    if (id.raw >= g_count) return Status::Invalid;
    MmioHook& h = g_hooks[id.raw];
    if (new_base.raw == h.base) {
        move_device(ctx);
        return Status::Ok;
    }
    Status s = can_follow(h, new_base.raw);
    if (!ok(s)) return s;
    u64 const old_base = h.base;
    HookPages pages{h.base, h.size, h.page_base, h.page_end};
    MonitorMoveSteps steps{v, h, move_device, ctx};
    if (!ok(s = move_hook_pages(pages, new_base.raw, steps))) {
        log("mmio: hook %s cannot follow its device to %#llx (status %u)", h.name,
            static_cast<unsigned long long>(new_base.raw), static_cast<unsigned>(s));
        return s;
    }
    h.base = pages.base;
    h.page_base = pages.page_base;
    h.page_end = pages.page_end;
    log("mmio: hook %s follows its device from %#llx to %#llx", h.name, static_cast<unsigned long long>(old_base),
        static_cast<unsigned long long>(h.base));
    return Status::Ok;
}

Gpa mmio_hook_base(MmioHookId id) { return Gpa{id.raw < g_count ? g_hooks[id.raw].base : 0}; }

Status mmio_hook_reads_direct(Vcpu& v, MmioHookId id, bool direct, u64 offset, u64 length) {
    if (id.raw >= g_count) return Status::Invalid;
    MmioHook const& h = g_hooks[id.raw];
    if (!nested_tlb_flush_all_possible()) return Status::Unsupported;
    u64 const span = h.page_end - h.page_base;
    if (offset % kPageSize || offset >= span) return Status::Invalid;
    Gpa const first{h.page_base + offset};
    u64 const len = length < span - offset ? align_up(length, kPageSize) : span - offset;
    // Widening needs no flush (a CPU that still faults is emulated as before).
    if (direct) return machine().nested.map(first, Hpa{first.raw}, len, Perm::R);
    Status const s = machine().nested.unmap(first, len);
    nested_tlb_flush_all(v);
    return s;
}

bool mmio_hooked(u64 gpa) { return find(gpa) != nullptr; }

bool mmio_device_access(Gpa gpa, u8 size, bool write, u64* value) {
    MmioHook* h = find(gpa.raw);
    if (!h || gpa.raw + size > h->page_end) return false;
    device_rw(window_at(*h, gpa.raw, size), size, write, value);
    return true;
}

bool mmio_access(Vcpu& v, Gpa gpa, u8 size, bool write, u64* value) {
    MmioHook* h = find(gpa.raw);
    if (!h || gpa.raw + size > h->page_end) {
        log("mmio: access of %u bytes at %#llx leaves the hooked pages", size, static_cast<unsigned long long>(gpa.raw));
        return false;
    }
    __atomic_fetch_add(write ? &h->writes : &h->reads, 1, __ATOMIC_RELAXED);
    if (!write) *value = 0;
    DeviceGuard guard(*h->owner);
    if (gpa.raw < h->page_base || gpa.raw + size > h->page_end) {  // the hook moved while this CPU waited
        log("mmio: hook %s moved away from %#llx during the access; refused", h->name,
            static_cast<unsigned long long>(gpa.raw));
        return false;
    }
    bool const mine = gpa.raw < h->base + h->size && gpa.raw + size > h->base;
    if (mine && h->fn(h->ctx, v, gpa, size, write, value) == MmioAction::Handled) return true;
    device_rw(window_at(*h, gpa.raw, size), size, write, value);
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
