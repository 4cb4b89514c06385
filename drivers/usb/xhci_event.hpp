// The guest's event ring as the mediator produces into it: the segment table the guest
// programmed (ERSTBA, ERSTSZ), copied once when the guest writes ERSTBA and checked, and the
// producer's place in it. The controller itself only ever writes the monitor's event ring;
// each event it produces is translated (TRB pointers back to the guest's rings) and pushed
// here, and the guest's ERDP writes move the consumer.
//
// Checked: each entry's segment is 64-byte aligned, 16 to 4096 TRBs long and guest memory
// whole; ERSTSZ is 1 to the controller's ERST Max and at most kMaxSegments; the guest's ERDP
// must point into one of the segments (else it is refused and the consumer stays: a bad
// ERDP never makes the producer overwrite events the guest has not read).
#pragma once

#include "drivers/usb/xhci_ring.hpp"

namespace tv::usb {

struct ErstEntry {
    u64 base;
    u32 size;  // bits 15:0: TRBs in the segment
    u32 reserved;
};
static_assert(sizeof(ErstEntry) == 16);

inline constexpr u32 kMaxSegments = 8;
inline constexpr u32 kMinSegmentTrbs = 16, kMaxSegmentTrbs = 4096;

class GuestEventRing {
  public:
    // Copies and checks the guest's table; nullptr on success (the producer then stands at the
    // first segment's first TRB with cycle state 1, as a controller's does after ERSTBA).
    [[nodiscard]] char const* load(GuestView const& g, Gpa erstba, u32 erstsz, u32 erst_max);
    void reset() { *this = GuestEventRing{}; }
    bool loaded() const { return nsegs_ != 0; }

    // The guest wrote ERDP (its pointer bits): false when it is outside every segment.
    [[nodiscard]] bool set_dequeue(Gpa erdp);
    // Writes ev at the producer's place with the producer's cycle bit (the control word last,
    // so a reader never sees the cycle bit of a half-written event) and advances; false when
    // the ring is full (one TRB is always left free, so full and empty differ) or unwritable.
    [[nodiscard]] bool push(GuestView const& g, Trb ev);
    [[nodiscard]] bool full() const;
    // Everything pushed is behind the guest's ERDP.
    bool empty() const { return seg_ == dseg_ && idx_ == didx_; }

    u32 segments() const { return nsegs_; }
    Gpa producer() const { return at(seg_, idx_); }
    bool cycle() const { return cycle_; }

  private:
    struct Segment {
        u64 base;
        u32 trbs;
    };
    Gpa at(u32 seg, u32 idx) const { return Gpa{segs_[seg].base + u64{idx} * kTrbBytes}; }
    void next(u32* seg, u32* idx) const;

    Segment segs_[kMaxSegments]{};
    u32 nsegs_{0};
    u32 seg_{0}, idx_{0};    // producer
    u32 dseg_{0}, didx_{0};  // consumer (the guest's ERDP)
    bool cycle_{true};
};

}  // namespace tv::usb
