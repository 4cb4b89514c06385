// The monitor clock's interrupt exits under SVM (svm_vcpu.cpp, prepare_interrupt_exits): the
// physical interrupt that caused the exit is taken in the monitor to learn its vector, then
// handed to the guest as a virtual interrupt (svm_take_stubs.S says how).
#pragma once

#include "core/types.hpp"

namespace tv::svm {

inline constexpr u32 kNoVector = 256;

// The vector of the pending physical interrupt, now acknowledged, or kNoVector. GIF and IF
// stay clear around it; a host NMI arriving in that instant goes to the monitor's own handler.
u32 take_pending_interrupt();

// The vectors taken and not yet accepted by the guest, highest first (the order its local
// APIC would have delivered them in). Pure, host-tested.
class TakenVectors {
  public:
    void add(u32 vector) {
        if (vector < 256) bits_[vector / 64] |= 1ull << (vector % 64);
    }
    // The highest, removed; kNoVector when none.
    u32 pop_highest() {
        for (u32 i = 4; i-- > 0;) {
            if (!bits_[i]) continue;
            u32 const bit = 63 - static_cast<u32>(__builtin_clzll(bits_[i]));
            bits_[i] &= ~(1ull << bit);
            return i * 64 + bit;
        }
        return kNoVector;
    }
    bool empty() const { return !(bits_[0] | bits_[1] | bits_[2] | bits_[3]); }
    // The highest, left in place; kNoVector when none.
    u32 highest() const {
        TakenVectors copy = *this;
        return copy.pop_highest();
    }

  private:
    u64 bits_[4]{};
};

// The monitor command line's `svm_clock=` value (nullptr when absent): the interrupt-taking
// clock is on unless it says exactly `off`.
constexpr bool svm_clock_enabled(char const* value) {
    return !(value && value[0] == 'o' && value[1] == 'f' && value[2] == 'f' && value[3] == 0);
}

// EVENTINJ and EXITINTINFO (AMD APM vol. 2, 15.20): vector in bits 0-7, type in 8-10, valid.
namespace event {
inline constexpr u64 kValid = 1ull << 31;
inline constexpr u32 kTypeShift = 8;
inline constexpr u64 kTypeMask = 7ull << kTypeShift;
inline constexpr u64 kTypeInterrupt = 0;  // external interrupt
inline constexpr u64 kTypeException = 3ull << kTypeShift;
}  // namespace event

// The vector of an external interrupt whose delivery an exit cut short (EXITINTINFO), or
// kNoVector for any other event (exception, NMI, software interrupt), which goes back through
// EVENTINJ as it came. Such an interrupt joins the taken ones (TakenVectors) rather than
// EVENTINJ: QEMU TCG reports it as type 3 (exception) with its vector above 31, an injection
// VMRUN refuses, and keeps it in V_IRQ as well when it came from there; the queue holds it once.
constexpr u32 interrupted_interrupt_vector(u64 exit_int_info) {
    if (!(exit_int_info & event::kValid)) return kNoVector;
    u32 const vector = static_cast<u32>(exit_int_info & 0xFF);
    u64 const type = exit_int_info & event::kTypeMask;
    if (type == event::kTypeInterrupt || (type == event::kTypeException && vector >= 32)) return vector;
    return kNoVector;
}

// Whether a hidden-memory single step (TF) needs physical interrupts to exit. The exits keep
// an interrupt from being delivered before the stepped instruction, which would push TF into
// a guest frame (set_single_step). With V_INTR_MASKING the host's IF decides, so a pending
// interrupt exits even while the guest's IF is clear, and the cancelled step's re-entry cannot
// deliver it either: the guest faults, steps and exits again for as long as it keeps IF clear.
// A guest with IF clear needs no exits: nothing is delivered before the instruction. (QEMU
// ignores the VMCB's interrupt shadow, so a shadow does not spare them, unlike on VMX.)
constexpr bool step_needs_interrupt_exits(u64 rflags) { return (rflags & (1u << 9)) != 0; }

// After an exit: the vector of an external interrupt the CPU delivered to the guest during
// that run without the monitor handing it over, or kNoVector. QEMU records every event it
// delivers in guest mode in EVENTINJ (an external interrupt as type 3 with its vector), clears
// only its valid bit once delivered, and reports the field as EXITINTINFO at the exit; the
// monitor's own EVENTINJ is never an interrupt. So a leftover interrupt there that is not the
// V_IRQ of that entry, while physical interrupts exited, was delivered behind the monitor's
// back: QEMU's second delivery of an EVENTINJ interrupt (plan_virtual_interrupts). Only the
// last delivery of the run is seen. Hardware leaves EXITINTINFO zero here: nothing to see.
constexpr u32 unbidden_interrupt(u64 exit_int_info, bool intr_intercepted, u32 entry_virq) {
    if (!intr_intercepted || (exit_int_info & event::kValid)) return kNoVector;
    u32 const vector = static_cast<u32>(exit_int_info & 0xFF);
    if ((exit_int_info & event::kTypeMask) != event::kTypeException || vector < 32) return kNoVector;
    return vector == entry_virq ? kNoVector : vector;
}

// What one entry hands the guest from the taken queue. The local APIC holds every taken vector
// in service until the guest's EOI, so a vector left in the queue blocks its own priority class
// and every one below it: none of them can exit to release it. So the queue is never left to
// wait for an exit the guest may not make (its EOIs exit only when its LAPIC is trapped; a
// busy loop exits only for its next timer interrupt, which would go first again and again):
//  - `virq`: the highest, through V_IRQ, which the CPU delivers when the guest's window is open
//    (at once when it is open at the entry);
//  - `window_exit`: more wait and the window is shut: intercept VINTR, so the opening of the
//    window exits (V_IRQ undelivered, back in the queue) and the next entry plans again, open;
//  - `iret_exit`: more wait and the window is open, so `virq` goes in at once: intercept IRET,
//    so the end of that handler exits and the next vector follows it;
//  - `intr_exit`: a vector is in V_IRQ, so physical interrupts must exit, whether or not the
//    clock wants them: QEMU 7.2 drops a pending V_IRQ when it delivers a physical interrupt
//    to the guest (x86_cpu_exec_interrupt clears CPU_INTERRUPT_VIRQ with CPU_INTERRUPT_HARD),
//    and the exit then shows V_IRQ clear as if the guest had taken it. The vector stays in
//    service in the local APIC with no handler to end it, and its class and every one below
//    it go silent: a Linux guest at boot then fails its timer check ("IO-APIC + timer doesn't
//    work!") in every mode it tries. Such an exit takes the interrupt (take_on_interrupt_exit)
//    and queues it behind V_IRQ's vector, so nothing is delivered behind the queue's back.
// Never EVENTINJ for an external interrupt: QEMU 7.2 TCG delivers such an injection inside
// VMRUN and leaves the vector as its pending exception index, and the next time another
// thread kicks the vCPU before the guest's next exception or exit, it delivers the vector a
// second time, whatever the guest's IF (docs/architecture.md, "A second delivery of an
// injected interrupt"). V_IRQ goes through QEMU's interrupt path, which clears that index.
struct VirtualInterruptPlan {
    u32 virq = kNoVector;
    bool window_exit = false;
    bool iret_exit = false;
    bool intr_exit = false;
};

inline VirtualInterruptPlan plan_virtual_interrupts(TakenVectors& queue, bool window_open) {
    VirtualInterruptPlan p;
    p.virq = queue.pop_highest();
    bool const more = !queue.empty();
    p.window_exit = more && !window_open;
    p.iret_exit = more && window_open;
    p.intr_exit = p.virq != kNoVector;
    return p;
}

// Whether a physical-interrupt exit takes the interrupt into the queue: when the clock wanted
// the exit, or when V_IRQ held a vector at the entry (VirtualInterruptPlan::intr_exit); not
// during a single step (the core cancels the step, and the interrupt exits again at the next
// entry). One the monitor let exit and did not take would exit again at once, forever.
constexpr bool take_on_interrupt_exit(bool stepping, bool clock, u32 entry_virq) {
    return !stepping && (clock || entry_virq != kNoVector);
}

}  // namespace tv::svm
