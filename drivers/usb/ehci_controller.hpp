// The EHCI mediator of one controller (docs/usb.md, "EHCI"): the guest drives what it
// believes is the controller; the controller runs the monitor's shadow of the asynchronous
// schedule (ehci_schedule.hpp) and of its periodic schedule (ehci_periodic.hpp).
//
// - ASYNCLISTADDR: the guest's value is kept (and read back), the controller is given the
//   shadow of that queue head. USBCMD with the async schedule or the Interrupt on Async
//   Advance doorbell, a read of USBSTS (Linux's interrupt handler starts there) and the
//   monitor clock's tick (new qTDs need no register access) sync the shadow. USBSTS is read
//   from the controller before the sync, so every completion its status announces is in the
//   guest's memory before the guest sees the status.
// - The doorbell keeps its meaning: the shadows of the QHs the guest unlinked before it rang
//   are freed only once the controller reports the advance (USBSTS.IAA) or its async
//   schedule has stopped.
// - PERIODICLISTBASE: kept for the guest (and read back); the controller is given the
//   monitor's frame list, the shadow of the guest's. The same syncs as for the async schedule
//   (USBCMD, PERIODICLISTBASE, USBSTS, the clock's tick while a schedule runs) copy it again.
// - CTRLDSSEGMENT reads as zero; controllers with 64-bit addressing are not taken (init
//   fails): their structures have another layout. USBCMD's light reset is refused; a host
//   controller reset drops every shadow.
//
// Pure: the controller's registers and guest memory through EhciEnv, so it runs in host tests.
#pragma once

#include "drivers/usb/ehci_periodic.hpp"
#include "drivers/usb/ehci_schedule.hpp"

namespace tv::usb {

struct EhciRegCounters {
    u64 doorbells, ticks, refused;
};

class EhciController {
  public:
    static constexpr u32 kDmaPages = EhciSchedule::kPages + EhciPeriodic::kPages;  // both shadows

    // dma: kDmaPages of monitor memory the controller reaches, below 4 GiB. False (nothing
    // touched) for a controller with 64-bit addressing or memory it cannot reach.
    [[nodiscard]] bool init(EhciEnv* env, DmaMem dma);
    // Stops and resets the controller: whatever the firmware left running was never shadowed.
    // False when it did not come back from the reset.
    bool take_over();

    u32 read(u32 off, u8 size);
    void write(u32 off, u8 size, u32 value);
    // The monitor clock: picks up what the guest queued since the last sync.
    void tick();

    EhciSchedule const& schedule() const { return sched_; }
    EhciPeriodic const& periodic() const { return periodic_; }
    EhciRegCounters const& counters() const { return counters_; }
    u32 op_base() const { return op_; }

  private:
    bool op_reg(u32 off, u8 size, u32* reg);
    void write_cmd(u32 value);
    void program(EhciOp reg, u32 value);
    void refuse(char const* what, char const* why);

    EhciEnv* env_{nullptr};
    u32 op_{0};
    u32 guest_cmd_{0};
    u32 device_async_{0};  // what the controller was given for the guest's ASYNCLISTADDR (0: nothing yet)
    EhciSchedule sched_{};
    EhciPeriodic periodic_{};
    EhciRegCounters counters_{};
};

}  // namespace tv::usb
