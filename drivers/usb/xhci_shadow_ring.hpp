// A ring in monitor memory that the controller reads instead of the guest's: the command ring
// or one endpoint's transfer ring. One segment of one or two pages of TRBs whose last is a
// Link back to the start with Toggle Cycle. Transfer rings take two pages: a device model that
// starts a TD only once all of it is queued (QEMU) must find a whole 1 MiB transfer of 4 KiB
// pieces in the ring at once. The mediator produces copied, checked TRBs into it with its own
// cycle state; for each it remembers where the guest had the TRB (events name the shadow
// TRB, the guest must see its own) and whether it stands in for a refused one.
//
// The device's progress is learnt from events: an event naming a shadow TRB means the device
// has consumed everything up to it, which frees the space before it.
#pragma once

#include "core/types.hpp"
#include "drivers/usb/xhci_trb.hpp"

namespace tv::usb {

// Monitor memory the device may reach: the CPU's pointer and the address the device uses.
struct DmaMem {
    u8* virt;
    Hpa dev;
};

class ShadowRing {
  public:
    static constexpr u32 kMaxPages = 2;
    static constexpr u32 kTrbs = kMaxPages * kPageSize / kTrbBytes;  // at most; the last TRB is the link
    static constexpr u32 kUsable = kTrbs - 1;

    // mem: `pages` (1 or 2) of monitor memory the device can read.
    void init(DmaMem mem, u32 pages = 1);
    // Empty again, at the start with cycle state 1 (the device must be pointed at start()).
    void reset();
    bool ready() const { return page_.virt != nullptr; }

    // Appends t with the ring's cycle bit; false when the device has not consumed enough.
    // tag: what the mediator must do when an event names this TRB (drivers/usb/usb_slot.hpp).
    // monitor_ioc: the mediator set IOC itself; the event it brings is not the guest's.
    [[nodiscard]] bool push(Trb t, Gpa from, bool refused, u16 tag = 0, bool monitor_ioc = false);
    u32 space() const;
    bool empty() const { return space() == usable_ - 1; }
    u32 usable() const { return usable_; }

    // Where the device would read the next TRB produced, and with which cycle state.
    Hpa producer() const { return Hpa{page_.dev.raw + u64{producer_} * kTrbBytes}; }
    bool cycle() const { return cycle_; }
    Hpa start() const { return page_.dev; }

    // An event named `dev_addr`: true when it is one of this ring's TRBs, with the guest's
    // address of it and whether it was a refused one; the device has consumed it.
    [[nodiscard]] bool complete(u64 dev_addr, Gpa* guest, bool* refused, u16* tag = nullptr, bool* monitor_ioc = nullptr);
    // Whether dev_addr is inside this ring's page.
    bool holds(u64 dev_addr) const { return dev_addr >= page_.dev.raw && dev_addr < page_.dev.raw + bytes(); }
    // The guest address that corresponds to a device pointer into this ring (a dequeue
    // pointer in an output context): the guest's TRB there, or `next` for the producer's place.
    Gpa guest_of(u64 dev_addr, Gpa next) const;

    // The device was stopped and pointed elsewhere: nothing before the producer is pending.
    void forget_pending() { dequeue_ = producer_; }

  private:
    Trb* trbs() const { return reinterpret_cast<Trb*>(page_.virt); }
    u64 bytes() const { return u64{usable_ + 1} * kTrbBytes; }

    DmaMem page_{};
    u32 usable_{static_cast<u32>(kPageSize / kTrbBytes - 1)};
    u32 producer_{0}, dequeue_{0};
    bool cycle_{true};
    Gpa from_[kUsable]{};
    u8 refused_[kUsable]{};  // bit 0: refused; bit 1: IOC set by the monitor
    u16 tag_[kUsable]{};
};

}  // namespace tv::usb
