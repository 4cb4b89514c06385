// The guest's NMI blocking, which SVM does not keep for it. An NMI injected through EVENTINJ
// leaves the CPU taking further NMIs, so the monitor would inject the next one at once, into
// the guest's NMI handler. As on hardware, a further NMI waits until that handler's IRET has
// completed: the IRET is intercepted, and the guest counts as unmasked once it has moved past
// it (an IRET that faults on its stack exits at the same RIP and still blocks). When an NMI
// waits at that point, the monitor asks for an exit at the next physical interrupt the guest
// would take (usually right after the IRET has restored IF), so the NMI is not held for as
// long as the guest happens not to exit; one such exit that finds the IRET not yet run ends
// the request, or an interrupt pending at the IRET would exit there again and again.
// Pure, host-tested.
#pragma once

#include "core/types.hpp"

namespace tv::svm {

class NmiBlocking {
  public:
    // A guest NMI to deliver (several before one is delivered merge, as on hardware).
    void request() {
        pending_ = true;
        armed_ = awaiting_iret_;
    }

    // Before an entry at `rip`: true when an NMI goes into EVENTINJ now.
    [[nodiscard]] bool before_entry(u64 rip, bool event_slot_free) {
        if (awaiting_iret_ && rip != iret_rip_) masked_ = awaiting_iret_ = armed_ = false;
        if (!pending_ || masked_ || !event_slot_free) return false;
        pending_ = false;
        masked_ = true;
        return true;
    }

    // The IRET intercept fired at `rip`; the IRET runs at the next entry.
    void iret_exit(u64 rip) {
        if (!masked_) return;
        awaiting_iret_ = true;
        iret_rip_ = rip;
        armed_ = pending_;
    }

    // A physical interrupt made the guest exit (asked for or not).
    void interrupt_exit() { armed_ = false; }

    bool wants_iret_intercept() const { return masked_ && !awaiting_iret_; }
    bool wants_interrupt_exit() const { return pending_ && awaiting_iret_ && armed_; }
    void reset() { *this = NmiBlocking{}; }

  private:
    bool pending_ = false;
    bool masked_ = false;
    bool awaiting_iret_ = false;
    bool armed_ = false;  // an interrupt exit is wanted
    u64 iret_rip_ = 0;
};

}  // namespace tv::svm
