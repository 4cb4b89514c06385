#include "core/dispatch.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/exit_stats.hpp"
#include "core/handlers/cpu_handlers.hpp"
#include "core/handlers/hypercall.hpp"
#include "core/handlers/phys_edge.hpp"
#include "core/handlers/power.hpp"
#include "core/hidden_memory.hpp"
#include "core/insn/emulate.hpp"
#include "core/io_hooks.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/mmio_hooks.hpp"
#include "core/panic.hpp"
#include "core/smp.hpp"
#include "core/timer.hpp"

namespace tv {

namespace {

using Handler = void (*)(Vcpu&, ExitRecord const&);

void fatal(Vcpu& v, ExitRecord const& e) {
    panic("unexpected VM exit %s (vendor code %#llx, info %#llx) at guest rip %#llx", exit_reason_name(e.reason),
          static_cast<unsigned long long>(e.vendor_code), static_cast<unsigned long long>(e.vendor_info),
          static_cast<unsigned long long>(v.rip()));
}

// The instruction runs against a floating bus (core/insn: reads all ones, writes dropped).
// An instruction fetch from there, or one the emulator cannot carry out, gets #GP, as the
// emulator's other refusals do.
void beyond_physical_fault(Vcpu& v, NestedFaultExit const& f) {
    static u64 count;
    u64 const n = __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
    if (n <= 16 || n % 1024 == 0)
        log("vcpu %u: %s at gpa %#llx beyond the physical address space (rip %#llx; %llu so far)", v.id(),
            f.fetch ? "fetch" : f.write ? "write" : "read", static_cast<unsigned long long>(f.gpa.raw),
            static_cast<unsigned long long>(v.rip()), static_cast<unsigned long long>(n));
    if (f.fetch || insn::emulate_at_rip(v) == insn::EmulateResult::Failed) v.inject_exception(13, true, 0);
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
    // Map it on first touch, 2 MiB at a time, minus the pages MMIO hooks claim there. Beyond
    // the physical address space nothing can be mapped: a floating bus (phys_edge.hpp).
    Machine& m = machine();
    u64 chunk = align_down(e.npf.gpa.raw, kLargePageSize);
    switch (classify_high_fault(e.npf.gpa.raw, e.npf.present, m.nested_limit, cpu_phys_end())) {
        case HighFault::NothingThere:
            beyond_physical_fault(v, e.npf);
            return;
        case HighFault::MapOnDemand:
            if (ok(m.nested.map(Gpa{chunk}, Hpa{chunk}, kLargePageSize, Perm::RWX)) &&
                ok(mmio_hooks_reapply(Gpa{chunk}, kLargePageSize)))
                return;
            break;
        case HighFault::Unexpected:
            break;
    }
    panic("nested page fault at gpa %#llx (%s%s%s%s) rip %#llx", static_cast<unsigned long long>(e.npf.gpa.raw),
          e.npf.present ? "present " : "", e.npf.write ? "write" : "", e.npf.fetch ? "fetch" : "",
          e.npf.read ? "read" : "", static_cast<unsigned long long>(v.rip()));
}

// #GP is intercepted on SVM only: an SVM instruction at CPL 3 must fault as on a CPU without
// SVM (#UD), not with the #GP its privilege check gives while the real EFER.SVME is set.
void general_protection(Vcpu& v, ExitRecord const& e) {
    u8 bytes[15];
    size_t const n = insn::fetch_at_rip(v, bytes);
    bool const code64 = (v.efer() & x86::kEferLma) && (v.segment(SegReg::Cs).attr & (1u << 9));
    if (is_svm_instruction(bytes, n, code64)) {
        v.inject_exception(6, false, 0);
        return;
    }
    v.inject_exception(13, true, e.exc.error);
}

void exception(Vcpu& v, ExitRecord const& e) {
    if (e.exc.vector == 13) {
        general_protection(v, e);
        return;
    }
    if (e.exc.vector == 1 && hidden_memory_step_done(v)) return;
    if (e.exc.vector == 1) log("vcpu %u: #DB at rip %#llx reflected", v.id(), static_cast<unsigned long long>(v.rip()));
    v.inject_exception(e.exc.vector, e.exc.has_error, e.exc.error);  // not ours: reflect
}

// While a hidden-memory step runs (SVM): the stepped instruction has not executed yet. Cancel
// the step; the guest takes the interrupt and faults on the page again afterwards. The monitor
// clock's interrupt exits (SVM) come here too, their interrupt already taken for the guest by
// the backend; with no step running there is nothing more to do.
void external_interrupt(Vcpu& v, ExitRecord const&) { (void)hidden_memory_step_done(v); }

// The monitor clock's own exits (core/timer.hpp): the due work runs at the end of every exit.
void timer_exit(Vcpu&, ExitRecord const&) {}
// SVM only, while the clock wants control: the guest halted, and the backend re-enters at its
// HLT, which an interrupt pending by then ends at once.
void halted(Vcpu&, ExitRecord const&) { timer_halt_wait(); }

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

// INVD exits unconditionally under VMX and by its intercept under SVM. Throwing away dirty
// cache lines would throw away the monitor's data too; writing them back first is what the
// guest can observe anyway.
void invd(Vcpu& v, ExitRecord const& e) {
    asm volatile("wbinvd" ::: "memory");
    if (!v.skip(e)) log("invd: no instruction length");
}

// VMX exits on every hardware task switch; a 64-bit guest never makes one (IA-32e mode has
// none), and 32-bit Linux only for a double fault. Not emulated: the guest is shut down the
// way a triple fault shuts it down (logged, machine reset), and the monitor never panics.
void task_switch(Vcpu& v, ExitRecord const& e) {
    log("guest task switch at rip %#llx (vendor qualification %#llx): not emulated, the guest is shut down",
        static_cast<unsigned long long>(v.rip()), static_cast<unsigned long long>(e.vendor_info));
    handle_shutdown(v, e);
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
    halted,                   // Hlt
    cr_access,                // CrAccess
    xsetbv,                   // Xsetbv
    invd,                     // Invd
    task_switch,              // TaskSwitch
    timer_exit,               // Timer
    fatal,                    // Unknown
    fatal,                    // Invalid
};

}  // namespace

void dispatch_exit(Vcpu& v, ExitRecord const& e) {
    timer_exit_begin();
    stats_count_exit(e.reason);
    kHandlers[static_cast<u8>(e.reason)](v, e);
    timer_run_due();  // the monitor's periodic work; the backend made sure an exit came in time
}

void vcpu_loop(Vcpu& v) {
    for (;;) {
        smp_before_entry(v);
        ExitRecord const e = v.run();
        smp_after_exit(v);
        dispatch_exit(v, e);
    }
}

}  // namespace tv
