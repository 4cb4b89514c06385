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
// - USB sticks: the async schedule's hook is the controller's EhciStorage (the mass-storage
//   path, shared with xHCI through usb_storage.hpp), forgotten with the shadows at a reset.
// - Root ports (ehci_ports.cpp): a hidden port reads as empty and disabled to the guest, and
//   its writes reach nothing. A device the policy denies is hidden once the mass-storage path
//   knows it (its first command) and the port it was reset on: the port shows a connect change
//   and USBSTS a Port Change Detect, and the controller's Frame List Rollover interrupt
//   (enabled by the monitor until the guest acknowledged the change) brings the guest's
//   interrupt handler to look within a frame list's period (1 s). The guest removes the device
//   as unplugged; the real port is disabled, so the device answers nothing any more. It shows
//   again once it really left (or changed) the port, or at a controller reset. The monitor can
//   hold a port's device for itself the same way, its port left enabled (hold_port).
// - CTRLDSSEGMENT reads as zero; controllers with 64-bit addressing are not taken (init
//   fails): their structures have another layout. USBCMD's light reset is refused; a host
//   controller reset drops every shadow.
//
// Pure: the controller's registers and guest memory through EhciEnv, so it runs in host tests.
#pragma once

#include "drivers/usb/ehci_periodic.hpp"
#include "drivers/usb/ehci_schedule.hpp"
#include "drivers/usb/ehci_storage.hpp"

namespace tv::usb {

struct EhciRegCounters {
    u64 doorbells, ticks, refused;
};

class EhciController {
  public:
    // Both shadows, then the mass-storage path's pages.
    static constexpr u32 kStoragePage = EhciSchedule::kPages + EhciPeriodic::kPages;
    static constexpr u32 kDmaPages = kStoragePage + EhciStorage::kPages;

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

    // Root ports, from 1. hold_port: the monitor keeps the port's device for itself; the guest
    // sees the port empty (with a connect change when a device was there) from now on, across
    // controller resets, and its writes to it reach nothing. False for a port the controller lacks.
    bool hold_port(u32 port);
    bool port_hidden(u32 port) const { return port >= 1 && port <= ports_ && ((hidden_ | held_) >> (port - 1) & 1); }

    EhciSchedule const& schedule() const { return sched_; }
    EhciStorage const& storage() const { return storage_; }
    EhciPeriodic const& periodic() const { return periodic_; }
    EhciRegCounters const& counters() const { return counters_; }
    u32 op_base() const { return op_; }

  private:
    bool op_reg(u32 off, u8 size, u32* reg);
    void write_cmd(u32 value);
    void program(EhciOp reg, u32 value);
    void refuse(char const* what, char const* why);
    void after_sync();
    // ehci_ports.cpp
    bool port_access(u32 off, u8 size, bool write, u32* value);
    void hide(u32 port, bool disable);
    void set_guest_intr(u32 value);
    void change_acknowledged();
    void ports_reset();

    EhciEnv* env_{nullptr};
    u32 op_{0};
    u32 guest_cmd_{0};
    u32 device_async_{0};  // what the controller was given for the guest's ASYNCLISTADDR (0: nothing yet)
    u32 ports_{0};
    u32 guest_intr_{0};    // USBINTR as the guest wrote it
    u32 hidden_{0};        // ports of denied devices (bit port - 1), forgotten at a reset
    u32 held_{0};          // ports the monitor holds (kept across resets)
    u32 hidden_csc_{0};    // hidden ports whose connect change the guest has not acknowledged
    bool pcd_pending_{false};  // USBSTS shows Port Change Detect until the guest acknowledges it
    EhciSchedule sched_{};
    EhciPeriodic periodic_{};
    EhciStorage storage_{};
    EhciRegCounters counters_{};
};

}  // namespace tv::usb
