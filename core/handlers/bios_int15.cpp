#include "core/handlers/bios_int15.hpp"

#include <string.h>

namespace tv {

namespace {

constexpr u32 kSmap = 0x534D4150;  // 'SMAP'

void set_low(Vcpu& v, Reg r, u64 value, u64 mask) { v.set_reg(r, (v.reg(r) & ~mask) | (value & mask)); }

u32 g_refusals;  // logged up to a bound: a guest may call in a loop

void refused(BiosMemory& mem, char const* what, u64 gpa, u64 bytes) {
    if (g_refusals++ < 8)
        mem.log("bios: %s at %#llx (+%llu) is not guest RAM: refused", what, static_cast<unsigned long long>(gpa),
                static_cast<unsigned long long>(bytes));
}

}  // namespace

bool bios_set_stacked_carry(Vcpu& v, BiosMemory& mem, bool carry) {
    u64 const sp = v.reg(Reg::Rsp) & 0xFFFF;
    u64 const at = v.segment(SegReg::Ss).base + ((sp + 4) & 0xFFFF);
    if (!mem.guest_ram(at, 2)) {
        refused(mem, "the caller's stacked FLAGS", at, 2);
        return false;
    }
    u16 flags;
    memcpy(&flags, mem.guest_ptr(at), 2);
    flags = static_cast<u16>(carry ? (flags | 1u) : (flags & ~1u));
    memcpy(mem.guest_ptr(at), &flags, 2);
    return true;
}

void bios_e820(Vcpu& v, BiosMemory& mem, MemoryMap const& map) {
    u32 const index = static_cast<u32>(v.reg(Reg::Rbx));
    u32 const size = static_cast<u32>(v.reg(Reg::Rcx));
    u64 const dest = v.segment(SegReg::Es).base + (v.reg(Reg::Rdi) & 0xFFFF);
    E820Entry entry;
    u32 next = 0;
    bool const good = static_cast<u32>(v.reg(Reg::Rdx)) == kSmap && size >= sizeof(E820Entry) &&
                      map.e820_entry(index, &entry, &next);
    if (good && !mem.guest_ram(dest, sizeof entry)) refused(mem, "the E820 buffer", dest, sizeof entry);
    if (!good || !mem.guest_ram(dest, sizeof entry)) {
        set_low(v, Reg::Rax, 0x8600, 0xFFFF);  // AH=86h: function not supported / bad request
        (void)bios_set_stacked_carry(v, mem, true);
        return;
    }
    memcpy(mem.guest_ptr(dest), &entry, sizeof entry);
    set_low(v, Reg::Rax, kSmap, 0xFFFFFFFF);
    set_low(v, Reg::Rcx, sizeof(E820Entry), 0xFFFFFFFF);
    set_low(v, Reg::Rbx, next, 0xFFFFFFFF);
    (void)bios_set_stacked_carry(v, mem, false);
}

}  // namespace tv
