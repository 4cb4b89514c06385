#include "core/dispatch.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/exit_stats.hpp"
#include "core/handlers/cpu_handlers.hpp"
#include "core/handlers/hypercall.hpp"
#include "core/handlers/power.hpp"
#include "core/hidden_memory.hpp"
#include "core/io_hooks.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/mmio_hooks.hpp"
#include "core/panic.hpp"
#include "core/smp.hpp"
#include "net/monitor.hpp"

namespace tv {

namespace {

using Handler = void (*)(Vcpu&, ExitRecord const&);

void fatal(Vcpu& v, ExitRecord const& e) {
    panic("unexpected VM exit %s (vendor code %#llx, info %#llx) at guest rip %#llx", exit_reason_name(e.reason),
          static_cast<unsigned long long>(e.vendor_code), static_cast<unsigned long long>(e.vendor_info),
          static_cast<unsigned long long>(v.rip()));
}

void nested_fault(Vcpu& v, ExitRecord const& e) {
    if (hidden_memory_contains(e.npf.gpa.raw)) {
        hidden_memory_fault(v, e.npf);
        return;
    }
    if (mmio_hooked(e.npf.gpa.raw)) {  // a mediator's device registers: emulate the access
        mmio_fault(v, e.npf);
        return;
    }
    // Above the identity-mapped range: device memory the firmware placed high (64-bit BARs).
    // Map it on first touch, 2 MiB at a time, minus the pages MMIO hooks claim there.
    Machine& m = machine();
    u64 chunk = align_down(e.npf.gpa.raw, kLargePageSize);
    if (e.npf.gpa.raw >= m.nested_limit && !e.npf.present &&
        ok(m.nested.map(Gpa{chunk}, Hpa{chunk}, kLargePageSize, Perm::RWX)) &&
        ok(mmio_hooks_reapply(Gpa{chunk}, kLargePageSize)))
        return;
    panic("nested page fault at gpa %#llx (%s%s%s%s) rip %#llx", static_cast<unsigned long long>(e.npf.gpa.raw),
          e.npf.present ? "present " : "", e.npf.write ? "write" : "", e.npf.fetch ? "fetch" : "",
          e.npf.read ? "read" : "", static_cast<unsigned long long>(v.rip()));
}

void exception(Vcpu& v, ExitRecord const& e) {
    if (e.exc.vector == 1 && hidden_memory_step_done(v)) return;
    if (e.exc.vector == 1) log("vcpu %u: #DB at rip %#llx reflected", v.id(), static_cast<unsigned long long>(v.rip()));
    v.inject_exception(e.exc.vector, e.exc.has_error, e.exc.error);  // not ours: reflect
}

// Only while a hidden-memory step runs (SVM): the stepped instruction has not executed yet.
// Cancel the step; the guest takes the interrupt and faults on the page again afterwards.
void external_interrupt(Vcpu& v, ExitRecord const&) { (void)hidden_memory_step_done(v); }

void init_signal(Vcpu& v, ExitRecord const&) { smp_init_exit(v); }
void nmi(Vcpu& v, ExitRecord const&) { smp_nmi_exit(v); }

void msr_write(Vcpu& v, ExitRecord const& e) {
    if (smp_x2apic_icr_write(v, e)) return;
    handle_msr_write(v, e);
}

// Only a backend that shadows control registers produces these; it emulates them itself.
void cr_access(Vcpu& v, ExitRecord const& e) {
    if (!v.emulate_cr_access(e)) fatal(v, e);
}

// XCR0 value rules (SDM XSETBV): x87 always on; AVX needs SSE; the AVX-512 trio and the AMX
// pair go together and need AVX; the MPX pair goes together.
bool xcr0_valid(u64 value, u64 supported) {
    auto all_or_none = [&](u64 bits) { return (value & bits) == 0 || (value & bits) == bits; };
    if (!(value & 1) || (value & ~supported)) return false;
    if ((value & 4) && !(value & 2)) return false;
    if (!all_or_none(0xE0) || !all_or_none(0x18) || !all_or_none(3ull << 17)) return false;
    return !(value & (0xE0 | (3ull << 17))) || (value & 6) == 6;
}

// XSETBV exits unconditionally under VMX. The monitor never uses extended state itself, so
// the guest's XCR0 can live in the CPU: check it as the CPU would, then load it.
void xsetbv(Vcpu& v, ExitRecord const& e) {
    constexpr u64 kCr4Osxsave = 1ull << 18;
    u64 const value = (v.reg(Reg::Rdx) << 32) | static_cast<u32>(v.reg(Reg::Rax));
    auto const leaf = x86::cpuid(0xD, 0);
    u64 const supported = (static_cast<u64>(leaf.edx) << 32) | leaf.eax;
    if (!(x86::read_cr4() & kCr4Osxsave)) fatal(v, e);  // the backend must run the host with it
    if (static_cast<u32>(v.reg(Reg::Rcx)) != 0 || v.cpl() != 0 || !xcr0_valid(value, supported)) {
        v.inject_exception(13, true, 0);
        return;
    }
    asm volatile("xsetbv" ::"c"(0u), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32)) : "memory");
    if (!v.skip(e)) log("xsetbv: no instruction length");
}

// INVD also exits unconditionally under VMX. Throwing away dirty cache lines would throw away
// the monitor's data too; writing them back first is what the guest can observe anyway.
void invd(Vcpu& v, ExitRecord const& e) {
    asm volatile("wbinvd" ::: "memory");
    if (!v.skip(e)) log("invd: no instruction length");
}

constexpr Handler kHandlers[static_cast<u8>(ExitReason::kCount)] = {
    handle_cpuid,             // Cpuid
    handle_msr_read,          // MsrRead
    msr_write,                // MsrWrite
    io_exit,                  // Io
    nested_fault,             // NestedFault
    handle_hypercall,         // Hypercall
    handle_virt_instruction,  // VirtInstruction
    handle_shutdown,          // Shutdown
    init_signal,              // Init
    fatal,                    // Sipi
    exception,                // Exception
    external_interrupt,       // ExternalInterrupt
    nmi,                      // Nmi
    fatal,                    // InterruptWindow
    fatal,                    // Hlt
    cr_access,                // CrAccess
    xsetbv,                   // Xsetbv
    invd,                     // Invd
    fatal,                    // Unknown
    fatal,                    // Invalid
};

}  // namespace

void dispatch_exit(Vcpu& v, ExitRecord const& e) {
    stats_count_exit(e.reason);
    kHandlers[static_cast<u8>(e.reason)](v, e);
    net::net_tick();  // the monitor's only periodic work: it has no timer interrupt
}

void vcpu_loop(Vcpu& v) {
    for (;;) {
        smp_before_entry(v);
        dispatch_exit(v, v.run());
    }
}

}  // namespace tv
