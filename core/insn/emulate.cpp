#include "core/insn/emulate.hpp"

#include <stdio.h>
#include <string.h>

#include "core/device/guest_linear.hpp"
#include "core/handlers/phys_edge.hpp"
#include "core/insn/decoder.hpp"
#include "core/insn/exec.hpp"
#include "core/log.hpp"
#include "core/mmio_hooks.hpp"

namespace tv::insn {

namespace {

// A guest page fault or a non-canonical address: the CPU re-executes the instruction and
// delivers that fault itself. Tables the monitor may not read: the same, the hardware walk
// settles it (mmio_fault gives up on an instruction that never makes progress).
MemResult result_of(WalkStatus) { return MemResult::Retry; }

// The memory side of an emulated instruction in the guest: segment base, guest paging, then
// an MMIO hook or guest RAM. Accesses to neither (unclaimed device memory) are refused.
class OperandMemory final : public InsnMemory {
  public:
    OperandMemory(Vcpu& v, CpuMode mode) : v_(v), mode_(mode), ram_(guest_memory()), linear_mem_(v, ram_) {}

    MemResult read(SegReg seg, u64 off, u8 size, u64* value) override {
        *value = 0;
        return access(seg, off, size, false, value);
    }
    MemResult write(SegReg seg, u64 off, u8 size, u64 value) override { return access(seg, off, size, true, &value); }

  private:
    u64 linear(SegReg seg, u64 off) const {
        if (mode_ == CpuMode::Bits64)  // only FS and GS keep a base in 64-bit mode
            return off + (seg == SegReg::Fs || seg == SegReg::Gs ? v_.segment(seg).base : 0);
        return (v_.segment(seg).base + off) & 0xFFFFFFFFull;
    }
    MemResult translate(u64 lin, bool write, Gpa* gpa) {
        Translation t;
        WalkStatus const s = linear_mem_.translate(lin, GuestAccess{write, false}, &t);
        *gpa = t.gpa;
        return s == WalkStatus::Ok ? MemResult::Ok : result_of(s);
    }
    MemResult access(SegReg seg, u64 off, u8 size, bool write, u64* value);
    MemResult split_ram(u64 lin, u8 size, bool write, u64* value);

    Vcpu& v_;
    CpuMode mode_;
    GuestMemory const& ram_;
    GuestLinear linear_mem_;
};

MemResult OperandMemory::access(SegReg seg, u64 off, u8 size, bool write, u64* value) {
    u64 const lin = linear(seg, off);
    if ((lin & (kPageSize - 1)) + size > kPageSize) return split_ram(lin, size, write, value);
    Gpa gpa;
    MemResult const r = translate(lin, write, &gpa);
    if (r != MemResult::Ok) return r;
    if (mmio_hooked(gpa.raw)) return mmio_access(v_, gpa, size, write, value) ? MemResult::Ok : MemResult::Failed;
    if (beyond_physical(gpa.raw)) {  // nothing decodes it (core/handlers/phys_edge.hpp)
        if (!write) *value = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
        return MemResult::Ok;
    }
    if (!(write ? ram_.write(gpa, value, size) : ram_.read(gpa, value, size))) {
        log("mmio: emulated %s of %u bytes at gpa %#llx: neither a hooked device nor RAM", write ? "write" : "read",
            size, static_cast<unsigned long long>(gpa.raw));
        return MemResult::Failed;
    }
    return MemResult::Ok;
}

// An access that crosses a page boundary: byte by byte, RAM only (no device register
// straddles pages; a driver that did so is refused rather than guessed at).
MemResult OperandMemory::split_ram(u64 lin, u8 size, bool write, u64* value) {
    u8* bytes = reinterpret_cast<u8*>(value);
    for (u8 i = 0; i < size; ++i) {
        Gpa gpa;
        MemResult const r = translate(lin + i, write, &gpa);
        if (r != MemResult::Ok) return r;
        u8* p = ram_.ptr(gpa, 1);
        if (!p) {
            log("mmio: emulated access at linear %#llx crosses a page into device memory", static_cast<unsigned long long>(lin));
            return MemResult::Failed;
        }
        if (write) *p = bytes[i];
        else bytes[i] = *p;
    }
    return MemResult::Ok;
}

// The instruction bytes at CS:RIP: up to 15, from one or two guest pages.
MemResult fetch(Vcpu& v, CpuMode mode, u8* buf, size_t* n) {
    u64 const rip = mode == CpuMode::Bits64 ? v.rip() : v.rip() & (mode == CpuMode::Bits32 ? 0xFFFFFFFFull : 0xFFFFull);
    u64 lin = mode == CpuMode::Bits64 ? rip : (v.segment(SegReg::Cs).base + rip) & 0xFFFFFFFFull;
    GuestMemory const& ram = guest_memory();
    GuestLinear mem{v, ram};
    *n = 0;
    while (*n < kMaxLength) {
        Translation t;
        WalkStatus const s = mem.translate(lin, GuestAccess{false, true}, &t);
        size_t chunk = kPageSize - (lin & (kPageSize - 1));
        if (chunk > kMaxLength - *n) chunk = kMaxLength - *n;
        if (s != WalkStatus::Ok || !ram.read(t.gpa, buf + *n, chunk)) {
            if (s == WalkStatus::Ok && *n == 0)
                log("mmio: code at linear %#llx is at gpa %#llx, outside guest RAM", static_cast<unsigned long long>(lin),
                    static_cast<unsigned long long>(t.gpa.raw));
            return *n ? MemResult::Ok : (s != WalkStatus::Ok ? result_of(s) : MemResult::Failed);
        }
        *n += chunk;
        lin += chunk;
    }
    return MemResult::Ok;
}

void log_refusal(Vcpu& v, CpuMode mode, u8 const* buf, size_t n, char const* why) {
    char hex[3 * kMaxLength + 1] = "";
    for (size_t i = 0; i < n; ++i) snprintf(hex + 3 * i, 4, " %02x", buf[i]);
    log("mmio: cannot emulate instruction bytes%s at rip %#llx (%u-bit code): %s", hex,
        static_cast<unsigned long long>(v.rip()), mode == CpuMode::Bits64 ? 64u : mode == CpuMode::Bits32 ? 32u : 16u,
        why);
}

}  // namespace

size_t fetch_at_rip(Vcpu& v, u8* buf) {
    size_t n = 0;
    CpuMode const mode = cpu_mode(v.cr0(), v.efer(), v.rflags(), v.segment(SegReg::Cs).attr);
    return fetch(v, mode, buf, &n) == MemResult::Ok ? n : 0;
}

EmulateResult emulate_at_rip(Vcpu& v) {
    CpuMode const mode = cpu_mode(v.cr0(), v.efer(), v.rflags(), v.segment(SegReg::Cs).attr);
    u8 buf[kMaxLength];
    size_t n = 0;
    MemResult const f = fetch(v, mode, buf, &n);
    if (f == MemResult::Retry) return EmulateResult::Again;
    if (f == MemResult::Failed) {
        log_refusal(v, mode, buf, 0, "the instruction is not in guest RAM");
        return EmulateResult::Failed;
    }
    Insn insn;
    DecodeStatus const d = decode(buf, n, mode, &insn);
    if (d == DecodeStatus::Truncated && n < kMaxLength) return EmulateResult::Again;  // next page not mapped yet
    if (d != DecodeStatus::Ok) {
        log_refusal(v, mode, buf, n, decode_status_name(d));
        return EmulateResult::Failed;
    }
    OperandMemory mem{v, mode};
    switch (execute(insn, v, mem)) {
        case ExecStatus::Done: break;
        case ExecStatus::Partial:
        case ExecStatus::Retry: return EmulateResult::Again;
        case ExecStatus::Failed:
            log_refusal(v, mode, buf, insn.length, "its memory operand cannot be carried out");
            return EmulateResult::Failed;
    }
    u64 next = v.rip() + insn.length;
    if (mode != CpuMode::Bits64) next &= mode == CpuMode::Bits32 ? 0xFFFFFFFFull : 0xFFFFull;
    v.set_rip(next);
    return EmulateResult::Done;
}

}  // namespace tv::insn
