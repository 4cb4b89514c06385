#include "core/arch/x86/descriptors.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/panic.hpp"
#include "core/smp.hpp"

extern "C" const tv::u64 tv_isr_table[32];
extern "C" char tv_rdmsr_safe_insn[], tv_rdmsr_safe_fixup[];
extern "C" char tv_wrmsr_safe_insn[], tv_wrmsr_safe_fixup[];
extern "C" int tv_rdmsr_safe(tv::u32 msr, tv::u64* out);
extern "C" int tv_wrmsr_safe(tv::u32 msr, tv::u64 value);
extern "C" char tv_idle_window[], tv_idle_hlt[], tv_idle_out[];

namespace tv::x86 {

namespace {

constexpr u32 kMaxCpus = 16;

struct __attribute__((packed)) Tss {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct __attribute__((packed)) IdtEntry {
    u16 offset_lo, selector;
    u8 ist, type;
    u16 offset_mid;
    u32 offset_hi, reserved;
};
static_assert(sizeof(IdtEntry) == 16);

struct __attribute__((packed)) Pointer {
    u16 limit;
    u64 base;
};

struct PerCpu {
    u64 gdt[5];  // null, code, data, TSS (two slots)
    Tss tss;
    alignas(16) u8 fault_stack[8192];  // IST1: a double fault must not reuse a broken stack
};

PerCpu g_cpu[kMaxCpus];
IdtEntry g_idt[32];
bool g_idt_built;

void build_idt() {
    for (u32 v = 0; v < 32; ++v) {
        u64 h = tv_isr_table[v];
        g_idt[v] = IdtEntry{static_cast<u16>(h), kCodeSel, static_cast<u8>(v == 8 ? 1 : 0), 0x8E,
                            static_cast<u16>(h >> 16), static_cast<u32>(h >> 32), 0};
    }
    g_idt_built = true;
}

}  // namespace

void descriptors_init_cpu(u32 cpu) {
    if (cpu >= kMaxCpus) panic("cpu %u beyond the %u supported", cpu, kMaxCpus);
    if (!g_idt_built) build_idt();
    PerCpu& p = g_cpu[cpu];
    p.gdt[0] = 0;
    p.gdt[1] = 0x00AF9A000000FFFFull;
    p.gdt[2] = 0x00CF92000000FFFFull;
    u64 tss = reinterpret_cast<u64>(&p.tss);
    p.tss.iomap_base = sizeof(Tss);
    p.tss.ist[0] = reinterpret_cast<u64>(p.fault_stack + sizeof p.fault_stack);
    p.gdt[3] = (sizeof(Tss) - 1) | ((tss & 0xFFFFFF) << 16) | (0x89ull << 40) | (((tss >> 24) & 0xFF) << 56);
    p.gdt[4] = tss >> 32;

    Pointer gdtr{sizeof p.gdt - 1, reinterpret_cast<u64>(p.gdt)};
    Pointer idtr{sizeof g_idt - 1, reinterpret_cast<u64>(g_idt)};
    asm volatile(
        "lgdt %0\n"
        "pushq %1\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        "movw %w2, %%ds\n"
        "movw %w2, %%es\n"
        "movw %w2, %%ss\n"
        "ltr %w3\n"
        "lidt %4\n" ::"m"(gdtr),
        "i"(kCodeSel), "r"(kDataSel), "r"(kTssSel), "m"(idtr)
        : "rax", "memory");
}

HostTables host_tables(u32 cpu) {
    if (cpu >= kMaxCpus) panic("cpu %u beyond the %u supported", cpu, kMaxCpus);
    PerCpu const& p = g_cpu[cpu];
    return HostTables{reinterpret_cast<u64>(p.gdt), reinterpret_cast<u64>(g_idt), reinterpret_cast<u64>(&p.tss)};
}

bool rdmsr_safe(u32 msr, u64* value) { return tv_rdmsr_safe(msr, value) == 0; }
bool wrmsr_safe(u32 msr, u64 value) { return tv_wrmsr_safe(msr, value) == 0; }

}  // namespace tv::x86

extern "C" void tv_exception_entry(tv::x86::ExceptionFrame* f) {
    using namespace tv::x86;
    if (f->vector == 2) {  // the monitor's kick or wake-up, or the guest's NMI: smp.cpp sorts them
        // Taken between idle_halt.S's test and its HLT: do not halt after returning.
        if (f->rip >= reinterpret_cast<tv::u64>(tv_idle_window) && f->rip <= reinterpret_cast<tv::u64>(tv_idle_hlt))
            f->rip = reinterpret_cast<tv::u64>(tv_idle_out);
        tv::smp_host_nmi();
        return;
    }
    // #SX with error 1: an INIT the guest had sent this CPU (by IOAPIC or MSI), redirected by
    // VM_CR.R_INIT (svm_backend.cpp); its INIT exit already sent the vCPU to wait-for-SIPI.
    if (f->vector == 30 && f->error == 1) return;
    if (f->vector == 13) {
        if (f->rip == reinterpret_cast<tv::u64>(tv_rdmsr_safe_insn)) {
            f->rip = reinterpret_cast<tv::u64>(tv_rdmsr_safe_fixup);
            return;
        }
        if (f->rip == reinterpret_cast<tv::u64>(tv_wrmsr_safe_insn)) {
            f->rip = reinterpret_cast<tv::u64>(tv_wrmsr_safe_fixup);
            return;
        }
    }
    tv::panic_exception(f);
}
