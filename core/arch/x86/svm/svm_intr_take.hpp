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

  private:
    u64 bits_[4]{};
};

}  // namespace tv::svm
