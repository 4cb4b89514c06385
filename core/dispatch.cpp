#include "core/dispatch.hpp"

#include "core/exit_stats.hpp"
#include "core/handlers/cpu_handlers.hpp"
#include "core/handlers/hypercall.hpp"
#include "core/handlers/power.hpp"
#include "core/hidden_memory.hpp"
#include "core/io_hooks.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/panic.hpp"

namespace tv {

namespace {

using Handler = void (*)(Vcpu&, ExitRecord const&);

void fatal(Vcpu& v, ExitRecord const& e) {
    panic("unexpected VM exit %s (vendor code %#llx, info %#llx) at guest rip %#llx", exit_reason_name(e.reason),
          static_cast<unsigned long long>(e.vendor_code), static_cast<unsigned long long>(e.vendor_info),
          static_cast<unsigned long long>(v.rip()));
}

void nested_fault(Vcpu& v, ExitRecord const& e) {
    if (hidden_memory_contains(e.npf.gpa)) {
        hidden_memory_fault(v, e.npf);
        return;
    }
    // Above the identity-mapped range: device memory the firmware placed high (64-bit BARs).
    // Map it on first touch, 2 MiB at a time.
    Machine& m = machine();
    u64 chunk = align_down(e.npf.gpa, kLargePageSize);
    if (e.npf.gpa >= m.nested_limit && !e.npf.present &&
        ok(m.nested.map(Gpa{chunk}, Hpa{chunk}, kLargePageSize, Perm::RWX)))
        return;
    panic("nested page fault at gpa %#llx (%s%s%s%s) rip %#llx", static_cast<unsigned long long>(e.npf.gpa),
          e.npf.present ? "present " : "", e.npf.write ? "write" : "", e.npf.fetch ? "fetch" : "",
          e.npf.read ? "read" : "", static_cast<unsigned long long>(v.rip()));
}

void exception(Vcpu& v, ExitRecord const& e) {
    if (e.exc.vector == 1 && hidden_memory_step_done(v)) return;
    v.inject_exception(e.exc.vector, e.exc.has_error, e.exc.error);  // not ours: reflect
}

void init_signal(Vcpu&, ExitRecord const&) { log("vcpu: INIT received (multiprocessor start is not supported yet)"); }

constexpr Handler kHandlers[static_cast<u8>(ExitReason::kCount)] = {
    handle_cpuid,             // Cpuid
    handle_msr_read,          // MsrRead
    handle_msr_write,         // MsrWrite
    io_exit,                  // Io
    nested_fault,             // NestedFault
    handle_hypercall,         // Hypercall
    handle_virt_instruction,  // VirtInstruction
    handle_shutdown,          // Shutdown
    init_signal,              // Init
    fatal,                    // Sipi
    exception,                // Exception
    fatal,                    // ExternalInterrupt
    fatal,                    // Nmi
    fatal,                    // InterruptWindow
    fatal,                    // Hlt
    fatal,                    // CrAccess
    fatal,                    // Xsetbv
    fatal,                    // Invd
    fatal,                    // Unknown
    fatal,                    // Invalid
};

}  // namespace

void dispatch_exit(Vcpu& v, ExitRecord const& e) {
    stats_count_exit(e.reason);
    kHandlers[static_cast<u8>(e.reason)](v, e);
}

void vcpu_loop(Vcpu& v) {
    for (;;) dispatch_exit(v, v.run());
}

}  // namespace tv
