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

// What one entry hands the guest from the taken queue. The local APIC holds every taken vector
// in service until the guest's EOI, so a vector left in the queue blocks its own priority class
// and every one below it: none of them can exit to release it. So the queue is never left to
// wait for an exit the guest may not make (its EOIs exit only when its LAPIC is trapped; a
// busy loop exits only for its next timer interrupt, which would go first again and again):
//  - `inject`: the highest, through EVENTINJ, when the guest can take an interrupt right now
//    (IF set, no interrupt shadow, EVENTINJ free);
//  - `virq`: the next, through V_IRQ, which the CPU delivers when the guest opens its window;
//  - `window_exit`: more wait behind `virq`: intercept VINTR, so the opening of the window
//    exits and the next entry injects `virq` and queues the one after it.
struct VirtualInterruptPlan {
    u32 inject = kNoVector;
    u32 virq = kNoVector;
    bool window_exit = false;
};

inline VirtualInterruptPlan plan_virtual_interrupts(TakenVectors& queue, bool can_take_now) {
    VirtualInterruptPlan p;
    if (can_take_now) p.inject = queue.pop_highest();
    p.virq = queue.pop_highest();
    p.window_exit = !queue.empty();
    return p;
}

}  // namespace tv::svm
