// The monitor's GDT (with a 64-bit TSS, which VMX host state and IST stacks need) and IDT.
#pragma once

#include "core/types.hpp"

namespace tv::x86 {

inline constexpr u16 kCodeSel = 0x08;
inline constexpr u16 kDataSel = 0x10;
inline constexpr u16 kTssSel = 0x18;

// Per-CPU: loads a fresh GDT+TSS and the shared IDT.
void descriptors_init_cpu(u32 cpu);

// Where a CPU's descriptor tables live (virtual addresses). VMX reloads GDTR, IDTR and TR from
// the VMCS host-state area on every exit, so it must be told these bases.
struct HostTables {
    u64 gdt_base;
    u64 idt_base;
    u64 tss_base;
};
HostTables host_tables(u32 cpu);

struct ExceptionFrame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error;
    u64 rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(ExceptionFrame) == 22 * 8);

}  // namespace tv::x86
