// Several CPUs in the monitor: which CPU is running, each vCPU's INIT/SIPI state, the
// guest's start-up IPIs caught at the local APIC's ICR (xAPIC MMIO and x2APIC MSR 0x830) and
// emulated, never sent (a real INIT would reset a CPU that is running the monitor), and the
// nested-TLB epoch that makes every CPU flush after a shared nested entry narrowed.
#pragma once

#include "core/exit_record.hpp"
#include "core/types.hpp"
#include "core/vcpu.hpp"

namespace tv {

struct Machine;

inline constexpr u32 kMaxCpus = 16;  // as many as descriptors.cpp has per-CPU tables for

// Index of the running CPU: 0 for the boot CPU, 1.. for the APs in bring-up order.
u32 this_cpu();
u32 smp_cpu_count();
// Bring-up bookkeeping (core/ap_boot.cpp).
void smp_register_cpu(u32 index, u32 apic_id);
// The vCPU of CPU `v.id()`: running (the boot CPU) or waiting for a SIPI (an AP).
void smp_attach_vcpu(Vcpu& v, bool wait_for_sipi);

// Claims the ICR (when more than one CPU exists): an MMIO hook on the xAPIC's ICR and the
// x2APIC ICR MSR in the intercept set. apic_base: the guest-physical xAPIC page.
[[nodiscard]] Status smp_icr_hooks_install(Machine& m, u64 apic_base);
// The monitor's own IPIs to a physical CPU (the AP bring-up); xAPIC through the hook's
// uncached mapping, x2APIC through the MSR.
void lapic_send_ipi(u32 apic_id, u32 icr_low);

// Before every guest entry: INIT/SIPI (may wait until the guest starts this CPU) and the
// nested-TLB epoch.
void smp_before_entry(Vcpu& v);
// An NMI the monitor itself took (descriptors.cpp): the monitor's kick or wake-up, or the
// guest's NMI, injected before this CPU's next entry.
void smp_host_nmi();
// An NMI exit: the monitor's kick or wake-up, or the guest's NMI (re-injected).
void smp_nmi_exit(Vcpu& v);
// An INIT that reached the hardware (an INIT exit): the vCPU waits for a SIPI.
void smp_init_exit(Vcpu& v);
// A WRMSR exit: true when it was an INIT/SIPI through the x2APIC ICR, emulated.
[[nodiscard]] bool smp_x2apic_icr_write(Vcpu& v, ExitRecord const& e);

// A nested entry every vCPU may cache was removed or narrowed: each flushes its nested TLB
// before its next entry (the caller flushes its own at once through Vcpu::flush_nested_tlb).
void nested_tlb_changed();

// The same, complete before it returns: no CPU runs guest code on a translation from before
// the call. A CPU in the guest is kicked out (the NMI kick) and waited for until it has left
// the guest; a CPU in the monitor flushes before its next entry. v: the calling CPU's vCPU.
// Only where nested_tlb_flush_all_possible() said yes; the caller may hold a device lock
// (the CPUs waited for never need one to leave the guest).
void nested_tlb_flush_all(Vcpu& v);
// Whether the other CPUs can be made to leave the guest (one CPU, or the backend kicks).
bool nested_tlb_flush_all_possible();
// Right after every VM exit (core/dispatch.cpp): this CPU is in the monitor.
void smp_after_exit(Vcpu& v);

}  // namespace tv
