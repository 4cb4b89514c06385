#include "core/io_hooks.hpp"

#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/exit_stats.hpp"
#include "core/device/guest_linear.hpp"
#include "core/insn/decoder.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/virt_backend.hpp"

namespace tv {

namespace {

PortRouter g_router;
u32 g_string_warnings;
// Devices of hooks registered without one, one each.
constinit Device g_solo[PortRouter::kMaxHooks];
size_t g_solo_count;

// Iterations of a REP INS/OUTS done in one exit; a 4 KiB sector of words fits.
constexpr u32 kMaxStringIterations = 4096;
constexpr u64 kRflagsDf = 1ull << 10;
constexpr u8 kVectorGp = 13;

u32 size_mask(u8 size) { return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu; }

class HardwarePorts final : public PortBus {
  public:
    u32 in(u16 port, u8 size) override {
        if (size == 1) return x86::inb(port);
        if (size == 2) return x86::inw(port);
        return x86::inl(port);
    }
    void out(u16 port, u8 size, u32 v) override {
        if (size == 1) x86::outb(port, static_cast<u8>(v));
        else if (size == 2) x86::outw(port, static_cast<u16>(v));
        else x86::outl(port, v);
    }
};

HardwarePorts g_ports;

}  // namespace

Status io_hook_register(Device& dev, u16 first, u16 count, IoHandler fn, void* ctx, char const* name) {
    return g_router.add(PortHook{first, count, fn, ctx, name, &dev, 0});
}

Status io_hook_register(u16 first, u16 count, IoHandler fn, void* ctx, char const* name) {
    if (g_solo_count == PortRouter::kMaxHooks) return Status::NoMemory;
    Status const s = io_hook_register(g_solo[g_solo_count], first, count, fn, ctx, name);
    if (ok(s)) ++g_solo_count;
    return s;
}

void io_hooks_apply(InterceptSet& set) {
    for (size_t i = 0; i < g_router.count(); ++i) {
        PortHook const& h = g_router.at(i);
        for (u32 p = h.first; p < u32{h.first} + h.count; ++p) set.add_port(static_cast<u16>(p));
    }
}

void io_hooks_log() {
    for (size_t i = 0; i < g_router.count(); ++i) {
        PortHook const& h = g_router.at(i);
        log("io: hook %s (ports %#x-%#x): %llu calls", h.name, h.first, h.first + h.count - 1,
            static_cast<unsigned long long>(h.calls));
    }
}

namespace {

// One element of an INS or OUTS, routed exactly as a single IN or OUT of that size would be.
u32 element_in(Vcpu& v, IoExit const& io) {
    bool handled = false;
    return g_router.access(v, io, 0, g_ports, &handled);
}

void element_out(Vcpu& v, IoExit const& io, u32 value) {
    bool handled = false;
    (void)g_router.access(v, io, value, g_ports, &handled);
}

// What the exit does not say reliably (TCG leaves the address-size and segment bits of
// EXITINFO1 zero): the address size and OUTS's source segment, from the prefixes of the
// instruction at CS:RIP.
struct StringInsn {
    u8 addr_size;  // 2, 4 or 8
    SegReg seg;    // of the memory operand
};

bool decode_string_io(Vcpu& v, insn::CpuMode mode, bool in, StringInsn* out) {
    u64 const rip = mode == insn::CpuMode::Bits64 ? v.rip() : v.rip() & 0xFFFFFFFFull;
    u64 const lin = mode == insn::CpuMode::Bits64 ? rip : (v.segment(SegReg::Cs).base + rip) & 0xFFFFFFFFull;
    u8 bytes[insn::kMaxLength];
    GuestLinear mem{v, guest_memory()};
    u32 n = insn::kMaxLength;
    while (n && !mem.copy(lin, bytes, n, false, true)) --n;  // the tail may be on an unmapped page
    bool addr_override = false;
    SegReg seg = SegReg::Ds;
    for (u32 i = 0; i < n; ++i) {
        u8 const b = bytes[i];
        if (b == 0x67) addr_override = true;
        else if (b == 0x26) seg = SegReg::Es;
        else if (b == 0x2E) seg = SegReg::Cs;
        else if (b == 0x36) seg = SegReg::Ss;
        else if (b == 0x3E) seg = SegReg::Ds;
        else if (b == 0x64) seg = SegReg::Fs;
        else if (b == 0x65) seg = SegReg::Gs;
        else if (b == 0x66 || b == 0xF2 || b == 0xF3 || b == 0xF0) continue;
        else if (mode == insn::CpuMode::Bits64 && (b & 0xF0) == 0x40) continue;  // REX
        else if (b >= 0x6C && b <= 0x6F) {
            if (mode == insn::CpuMode::Bits64) out->addr_size = addr_override ? 4 : 8;
            else if (mode == insn::CpuMode::Bits32) out->addr_size = addr_override ? 2 : 4;
            else out->addr_size = addr_override ? 4 : 2;
            out->seg = in ? SegReg::Es : seg;  // INS always writes ES:rDI
            return true;
        } else {
            break;
        }
    }
    return false;
}

u64 linear_of(Vcpu const& v, insn::CpuMode mode, SegReg seg, u64 off) {
    if (mode == insn::CpuMode::Bits64) return off + (seg == SegReg::Fs || seg == SegReg::Gs ? v.segment(seg).base : 0);
    return (v.segment(seg).base + off) & 0xFFFFFFFFull;
}

// INS/OUTS (with or without REP) on a hooked port: each element goes through the hook exactly
// as a single IN/OUT would, and its memory side through the guest's segmentation and paging.
// Up to kMaxStringIterations per exit; the guest re-executes the instruction for the rest.
void io_string(Vcpu& v, ExitRecord const& e) {
    IoExit const& io = e.io;
    insn::CpuMode const mode = insn::cpu_mode(v.cr0(), v.efer(), v.rflags(), v.segment(SegReg::Cs).attr);
    StringInsn si{};
    if (!decode_string_io(v, mode, io.in, &si)) {
        if (g_string_warnings++ < 8) log("io: string I/O at port %#x: cannot read the instruction; #GP", io.port);
        v.inject_exception(kVectorGp, true, 0);
        return;
    }
    u64 const mask = si.addr_size == 8 ? ~0ull : si.addr_size == 4 ? 0xFFFFFFFFull : 0xFFFFull;
    Reg const idx = io.in ? Reg::Rdi : Reg::Rsi;
    u64 count = io.rep ? v.reg(Reg::Rcx) & mask : 1;
    u64 const step = (v.rflags() & kRflagsDf) ? 0 - static_cast<u64>(io.size) : io.size;
    GuestLinear mem{v, guest_memory()};
    u32 done = 0;
    for (; count && done < kMaxStringIterations; ++done, --count) {
        u64 const off = v.reg(idx) & mask;
        u64 const lin = linear_of(v, mode, si.seg, off);
        u32 value = 0;
        if (io.in) {
            // Check that the destination is writable before the element is taken from the
            // device: a refused element must not be consumed.
            if (!mem.copy(lin, nullptr, io.size, true, false)) break;
            value = element_in(v, io);
            if (!mem.copy(lin, reinterpret_cast<u8*>(&value), io.size, true, false)) break;
        } else {
            if (!mem.copy(lin, reinterpret_cast<u8*>(&value), io.size, false, false)) break;
            element_out(v, io, value);
        }
        v.set_reg(idx, (v.reg(idx) & ~mask) | ((off + step) & mask));
        if (io.rep) v.set_reg(Reg::Rcx, (v.reg(Reg::Rcx) & ~mask) | ((count - 1) & mask));
    }
    stats_count(Event::IoEmulated);
    if (count == 0) {
        if (!v.skip(e)) log("io: string I/O exit without instruction length at port %#x", io.port);
    } else if (done == 0) {
        // The guest's own fault (#PF with CR2) cannot be raised from here, and memory that is
        // not guest RAM must never be reached: refuse loudly instead of spinning.
        if (g_string_warnings++ < 8)
            log("io: string I/O at port %#x: memory at %#x:%#llx not reachable; #GP", io.port,
                static_cast<unsigned>(si.seg), static_cast<unsigned long long>(v.reg(idx) & mask));
        v.inject_exception(kVectorGp, true, 0);
    }
    // else: iterations left; RIP stays and the guest runs the instruction again.
}

}  // namespace

void io_exit(Vcpu& v, ExitRecord const& e) {
    IoExit const& io = e.io;
    if (io.string) {
        io_string(v, e);
        return;
    }
    u32 mask = size_mask(io.size);
    u32 value = io.in ? 0 : static_cast<u32>(v.reg(Reg::Rax)) & mask;
    bool handled = false;
    u32 const read = g_router.access(v, io, value, g_ports, &handled);
    if (io.in) value = read;
    stats_count(handled ? Event::IoEmulated : Event::IoPassThrough);
    if (io.in)  // a 32-bit IN zero-extends into RAX like any 32-bit register write
        v.set_reg(Reg::Rax, io.size == 4 ? value : (v.reg(Reg::Rax) & ~static_cast<u64>(mask)) | (value & mask));
    if (!v.skip(e)) log("io: exit without instruction length at port %#x", io.port);
}

}  // namespace tv
