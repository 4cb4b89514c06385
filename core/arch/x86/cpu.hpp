// Thin wrappers around x86 instructions the monitor itself executes.
#pragma once

#include "core/types.hpp"

namespace tv::x86 {

struct CpuidResult {
    u32 eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(u32 leaf, u32 subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

inline u64 rdmsr(u32 msr) {
    u32 lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<u64>(hi) << 32) | lo;
}

inline void wrmsr(u32 msr, u64 v) {
    asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<u32>(v)), "d"(static_cast<u32>(v >> 32)) : "memory");
}

// RDMSR/WRMSR that return false instead of faulting: the guest may name any MSR, and a
// #GP inside the monitor must become a #GP for the guest, not a panic (see exceptions.cpp).
[[nodiscard]] bool rdmsr_safe(u32 msr, u64* value);
[[nodiscard]] bool wrmsr_safe(u32 msr, u64 value);

inline void outb(u16 port, u8 v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
inline void outw(u16 port, u16 v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
inline void outl(u16 port, u32 v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
inline u8 inb(u16 port) {
    u8 v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline u16 inw(u16 port) {
    u16 v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline u32 inl(u16 port) {
    u32 v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

inline u64 read_cr0() { u64 v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
inline u64 read_cr2() { u64 v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
inline u64 read_cr3() { u64 v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
inline u64 read_cr4() { u64 v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
inline void write_cr0(u64 v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
inline void write_cr3(u64 v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
inline void write_cr4(u64 v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

inline u64 rdtsc() {
    u32 lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<u64>(hi) << 32) | lo;
}

inline void pause() { asm volatile("pause"); }

[[noreturn]] inline void halt_forever() {
    for (;;) asm volatile("cli; hlt");
}

namespace msr {
inline constexpr u32 kEfer = 0xC0000080;
inline constexpr u32 kVmCr = 0xC0010114;
inline constexpr u32 kVmHsavePa = 0xC0010117;
inline constexpr u32 kFeatureControl = 0x3A;
inline constexpr u32 kVmxBasic = 0x480;
inline constexpr u32 kVmxLast = 0x493;
}  // namespace msr

inline constexpr u64 kEferSce = 1ull << 0;
inline constexpr u64 kEferLme = 1ull << 8;
inline constexpr u64 kEferLma = 1ull << 10;
inline constexpr u64 kEferNxe = 1ull << 11;
inline constexpr u64 kEferSvme = 1ull << 12;

inline constexpr u64 kRflagsCf = 1ull << 0;
inline constexpr u64 kRflagsTf = 1ull << 8;
inline constexpr u64 kRflagsIf = 1ull << 9;

inline constexpr u64 kCr0Pe = 1ull << 0;
inline constexpr u64 kCr0Pg = 1ull << 31;

}  // namespace tv::x86
