// What INIT and SIPI do to one virtual CPU, as the SDM describes for a real one: INIT puts
// it into wait-for-SIPI (its state is discarded), the first SIPI while waiting starts it in
// real mode at vector * 4 KiB, further SIPIs are ignored. Senders (any CPU's ICR write) and
// the target (before each guest entry) meet here; the monitor serializes them with a lock.
// Pure, host-tested.
#pragma once

#include "core/types.hpp"

namespace tv {

class SipiState {
  public:
    enum class Step : u8 {
        Run,      // keep running the guest as it is
        Wait,     // wait-for-SIPI: do not enter the guest
        StartAt,  // reset the vCPU to real mode at the SIPI vector, then run
    };

    static constexpr SipiState running() { return SipiState{false}; }
    static constexpr SipiState waiting() { return SipiState{true}; }

    // Sender side.
    void init() {
        waiting_ = true;
        sipi_latched_ = false;
    }
    // True when the SIPI was accepted (the CPU waits and has none latched yet).
    bool sipi(u8 vector) {
        if (!waiting_ || sipi_latched_) return false;
        sipi_latched_ = true;
        vector_ = vector;
        return true;
    }

    // Target side, before entering the guest.
    Step before_entry(u8* vector) {
        if (!waiting_) return Step::Run;
        if (!sipi_latched_) return Step::Wait;
        waiting_ = false;
        sipi_latched_ = false;
        *vector = vector_;
        return Step::StartAt;
    }

    bool is_waiting() const { return waiting_; }

  private:
    constexpr explicit SipiState(bool waiting) : waiting_(waiting) {}

    bool waiting_ = false;
    bool sipi_latched_ = false;
    u8 vector_ = 0;
};

}  // namespace tv
