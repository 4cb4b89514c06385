#include "core/insn/emulate.hpp"

#include <stdio.h>
#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/guest_paging.hpp"
#include "core/handlers/phys_edge.hpp"
#include "core/hidden_memory.hpp"
#include "core/insn/decoder.hpp"
#include "core/insn/exec.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/mmio_hooks.hpp"

namespace tv::insn {

namespace {

constexpr u64 kRflagsAc = 1ull << 18;
constexpr u64 kVgaStart = 0xA0000, kVgaEnd = 0xC0000, kOneMiB = 1ull << 20;

u8 g_maxphyaddr;  // the CPU's physical address width, read once

u8 maxphyaddr() {
    if (!g_maxphyaddr) g_maxphyaddr = static_cast<u8>(x86::cpuid(0x80000008).eax & 0xFF);
    return g_maxphyaddr;
}

bool in_firmware_ram(u64 gpa, u64 end) {
    MemoryMap const& map = machine().guest_map;
    for (size_t i = 0; i < map.count(); ++i) {
        MemRange const& r = map.at(i);
        bool const ram = r.type == MemType::Usable || r.type == MemType::AcpiReclaim || r.type == MemType::AcpiNvs;
        if (ram && gpa >= r.base && end <= r.end()) return true;
    }
    return false;
}

// Paging structures live in guest RAM; anything else (device memory, the monitor) is refused.
class MonitorReader final : public GuestMemoryReader {
  public:
    bool read_entry(Gpa gpa, u8 size, u64* v) override {
        if (!guest_ram(gpa.raw, size)) return false;
        *v = 0;
        memcpy(v, phys_to_virt(gpa.raw), size);
        return true;
    }
    bool set_entry_bits(Gpa gpa, u8 size, u64 bits) override {
        if (!guest_ram(gpa.raw, size)) return false;
        void* p = phys_to_virt(gpa.raw);
        if (size == 8) __atomic_fetch_or(static_cast<u64*>(p), bits, __ATOMIC_SEQ_CST);
        else __atomic_fetch_or(static_cast<u32*>(p), static_cast<u32>(bits), __ATOMIC_SEQ_CST);
        return true;
    }
};

GuestPagingState paging_state(Vcpu const& v) {
    return GuestPagingState{v.cr0(), v.cr3(), v.cr4(), v.efer(), v.cpl(), (v.rflags() & kRflagsAc) != 0, maxphyaddr()};
}

// A guest page fault or a non-canonical address: the CPU re-executes the instruction and
// delivers that fault itself. Tables the monitor may not read: the same, the hardware walk
// settles it (mmio_fault gives up on an instruction that never makes progress).
MemResult result_of(WalkStatus) { return MemResult::Retry; }

// The memory side of an emulated instruction in the guest: segment base, guest paging, then
// an MMIO hook or guest RAM. Accesses to neither (unclaimed device memory) are refused.
class GuestMemory final : public InsnMemory {
  public:
    GuestMemory(Vcpu& v, CpuMode mode) : v_(v), mode_(mode), paging_(paging_state(v)) {}

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
    MemResult translate(u64 lin, bool write, u64* gpa) {
        MonitorReader reader;
        Translation t;
        WalkStatus const s = guest_translate(paging_, lin, GuestAccess{write, false}, reader, &t);
        *gpa = t.gpa.raw;
        return s == WalkStatus::Ok ? MemResult::Ok : result_of(s);
    }
    MemResult access(SegReg seg, u64 off, u8 size, bool write, u64* value);
    MemResult split_ram(u64 lin, u8 size, bool write, u64* value);

    Vcpu& v_;
    CpuMode mode_;
    GuestPagingState paging_;
};

MemResult GuestMemory::access(SegReg seg, u64 off, u8 size, bool write, u64* value) {
    u64 const lin = linear(seg, off);
    if ((lin & (kPageSize - 1)) + size > kPageSize) return split_ram(lin, size, write, value);
    u64 gpa;
    MemResult const r = translate(lin, write, &gpa);
    if (r != MemResult::Ok) return r;
    if (mmio_hooked(gpa)) return mmio_access(v_, Gpa{gpa}, size, write, value) ? MemResult::Ok : MemResult::Failed;
    if (beyond_physical(gpa)) {  // nothing decodes it (core/handlers/phys_edge.hpp)
        if (!write) *value = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
        return MemResult::Ok;
    }
    if (!guest_ram(gpa, size)) {
        log("mmio: emulated %s of %u bytes at gpa %#llx: neither a hooked device nor RAM", write ? "write" : "read",
            size, static_cast<unsigned long long>(gpa));
        return MemResult::Failed;
    }
    if (write) memcpy(phys_to_virt(gpa), value, size);
    else memcpy(value, phys_to_virt(gpa), size);
    return MemResult::Ok;
}

// An access that crosses a page boundary: byte by byte, RAM only (no device register
// straddles pages; a driver that did so is refused rather than guessed at).
MemResult GuestMemory::split_ram(u64 lin, u8 size, bool write, u64* value) {
    u8* bytes = reinterpret_cast<u8*>(value);
    for (u8 i = 0; i < size; ++i) {
        u64 gpa;
        MemResult const r = translate(lin + i, write, &gpa);
        if (r != MemResult::Ok) return r;
        if (!guest_ram(gpa, 1)) {
            log("mmio: emulated access at linear %#llx crosses a page into device memory", static_cast<unsigned long long>(lin));
            return MemResult::Failed;
        }
        u8* p = static_cast<u8*>(phys_to_virt(gpa));
        if (write) *p = bytes[i];
        else bytes[i] = *p;
    }
    return MemResult::Ok;
}

// The instruction bytes at CS:RIP: up to 15, from one or two guest pages.
MemResult fetch(Vcpu& v, CpuMode mode, u8* buf, size_t* n) {
    u64 const rip = mode == CpuMode::Bits64 ? v.rip() : v.rip() & (mode == CpuMode::Bits32 ? 0xFFFFFFFFull : 0xFFFFull);
    u64 lin = mode == CpuMode::Bits64 ? rip : (v.segment(SegReg::Cs).base + rip) & 0xFFFFFFFFull;
    GuestPagingState const ps = paging_state(v);
    MonitorReader reader;
    *n = 0;
    while (*n < kMaxLength) {
        Translation t;
        WalkStatus const s = guest_translate(ps, lin, GuestAccess{false, true}, reader, &t);
        size_t chunk = kPageSize - (lin & (kPageSize - 1));
        if (chunk > kMaxLength - *n) chunk = kMaxLength - *n;
        if (s != WalkStatus::Ok || !guest_ram(t.gpa.raw, chunk)) {
            if (s == WalkStatus::Ok && *n == 0)
                log("mmio: code at linear %#llx is at gpa %#llx, outside guest RAM", static_cast<unsigned long long>(lin),
                    static_cast<unsigned long long>(t.gpa.raw));
            return *n ? MemResult::Ok : (s != WalkStatus::Ok ? result_of(s) : MemResult::Failed);
        }
        memcpy(buf + *n, phys_to_virt(t.gpa.raw), chunk);
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

bool guest_ram(u64 gpa, u64 size) {
    u64 const end = gpa + size;
    if (size == 0 || end < gpa || hidden_memory_contains(gpa) || hidden_memory_contains(end - 1)) return false;
    if (end <= kOneMiB) return end <= kVgaStart || gpa >= kVgaEnd;  // legacy VGA memory is a device
    return in_firmware_ram(gpa, end);
}

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
    GuestMemory mem{v, mode};
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
