#include "core/panic.hpp"

#include <stdarg.h>
#include <stdio.h>

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/descriptors.hpp"
#include "core/log.hpp"

namespace tv {

namespace {

char const* const kExceptionNames[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD exception", "#VE virtualization exception", "#CP control protection", "reserved 22",
    "reserved 23", "reserved 24", "reserved 25", "reserved 26", "reserved 27", "reserved 28",
    "reserved 29", "#SX security exception", "reserved 31"};


void dump_control_regs() {
    console("  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx", static_cast<unsigned long long>(x86::read_cr0()),
            static_cast<unsigned long long>(x86::read_cr2()), static_cast<unsigned long long>(x86::read_cr3()),
            static_cast<unsigned long long>(x86::read_cr4()));
}

}  // namespace

void panic(char const* fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    u64 rsp, rbp;
    asm volatile("mov %%rsp, %0; mov %%rbp, %1" : "=r"(rsp), "=r"(rbp));
    console("thinvisor PANIC: %s", msg);
    console("  rsp=%016llx rbp=%016llx ret=%016llx", static_cast<unsigned long long>(rsp),
            static_cast<unsigned long long>(rbp),
            static_cast<unsigned long long>(reinterpret_cast<u64>(__builtin_return_address(0))));
    dump_control_regs();
    console("thinvisor: halted");
    x86::halt_forever();
}

void panic_exception(x86::ExceptionFrame const* f) {
    auto h = [](u64 v) { return static_cast<unsigned long long>(v); };
    console("thinvisor PANIC: monitor exception %s (vector %llu, error %#llx)", kExceptionNames[f->vector & 31],
            h(f->vector), h(f->error));
    console("  rip=%016llx rsp=%016llx rflags=%016llx cs=%llx ss=%llx", h(f->rip), h(f->rsp), h(f->rflags), h(f->cs),
            h(f->ss));
    console("  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx", h(f->rax), h(f->rbx), h(f->rcx), h(f->rdx));
    console("  rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx", h(f->rsi), h(f->rdi), h(f->rbp), h(f->r8));
    console("  r9 =%016llx r10=%016llx r11=%016llx r12=%016llx", h(f->r9), h(f->r10), h(f->r11), h(f->r12));
    console("  r13=%016llx r14=%016llx r15=%016llx", h(f->r13), h(f->r14), h(f->r15));
    dump_control_regs();
    console("thinvisor: halted");
    x86::halt_forever();
}

}  // namespace tv
