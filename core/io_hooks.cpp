#include "core/io_hooks.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/exit_stats.hpp"
#include "core/log.hpp"
#include "core/virt_backend.hpp"

namespace tv {

namespace {

struct IoHook {
    u16 first, count;
    IoHandler fn;
    void* ctx;
    char const* name;
    u64 hits;
};

constexpr size_t kMaxHooks = 32;
IoHook g_hooks[kMaxHooks];
size_t g_hook_count;
u32 g_string_warnings;

IoHook* find(u16 port) {
    for (size_t i = 0; i < g_hook_count; ++i)
        if (port >= g_hooks[i].first && port - g_hooks[i].first < g_hooks[i].count) return &g_hooks[i];
    return nullptr;
}

u32 size_mask(u8 size) { return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu; }

u32 port_in(u16 port, u8 size) {
    if (size == 1) return x86::inb(port);
    if (size == 2) return x86::inw(port);
    return x86::inl(port);
}

void port_out(u16 port, u8 size, u32 v) {
    if (size == 1) x86::outb(port, static_cast<u8>(v));
    else if (size == 2) x86::outw(port, static_cast<u16>(v));
    else x86::outl(port, v);
}

}  // namespace

Status io_hook_register(u16 first, u16 count, IoHandler fn, void* ctx, char const* name) {
    if (g_hook_count == kMaxHooks || count == 0) return Status::NoMemory;
    for (u32 p = first; p < static_cast<u32>(first) + count; ++p)
        if (find(static_cast<u16>(p))) return Status::Exists;
    g_hooks[g_hook_count++] = IoHook{first, count, fn, ctx, name, 0};
    return Status::Ok;
}

void io_hooks_apply(InterceptSet& set) {
    for (size_t i = 0; i < g_hook_count; ++i)
        for (u32 p = g_hooks[i].first; p < static_cast<u32>(g_hooks[i].first) + g_hooks[i].count; ++p)
            set.add_port(static_cast<u16>(p));
}

void io_hooks_log() {
    for (size_t i = 0; i < g_hook_count; ++i)
        log("io: hook %s (ports %#x-%#x): %llu exits", g_hooks[i].name, g_hooks[i].first,
            g_hooks[i].first + g_hooks[i].count - 1, static_cast<unsigned long long>(g_hooks[i].hits));
}

void io_exit(Vcpu& v, ExitRecord const& e) {
    IoExit const& io = e.io;
    if (io.string) {
        // No hooked device is driven with INS/OUTS by the guests we run; say so loudly
        // rather than pretend the transfer happened.
        if (g_string_warnings++ < 8) log("io: string I/O on hooked port %#x is not emulated; skipped", io.port);
        if (!v.skip(e)) log("io: cannot skip string I/O");
        return;
    }
    u32 mask = size_mask(io.size);
    u32 value = io.in ? 0 : static_cast<u32>(v.reg(Reg::Rax)) & mask;
    IoHook* h = find(io.port);
    if (h) __atomic_fetch_add(&h->hits, 1, __ATOMIC_RELAXED);
    IoAction act = h ? h->fn(h->ctx, v, io, &value) : IoAction::PassThrough;
    if (act == IoAction::PassThrough) {
        stats_count(Event::IoPassThrough);
        if (io.in) value = port_in(io.port, io.size);
        else port_out(io.port, io.size, value & mask);
    } else {
        stats_count(Event::IoEmulated);
    }
    if (io.in)  // a 32-bit IN zero-extends into RAX like any 32-bit register write
        v.set_reg(Reg::Rax, io.size == 4 ? value : (v.reg(Reg::Rax) & ~static_cast<u64>(mask)) | (value & mask));
    if (!v.skip(e)) log("io: exit without instruction length at port %#x", io.port);
}

}  // namespace tv
