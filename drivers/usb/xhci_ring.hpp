// The guest's side of a ring the controller reads (the command ring, a transfer ring): where
// the mediator's consumer stands in it, and the walk that copies the TRBs the guest produced
// since, for the shadow ring the device really reads.
//
// The walk copies each TRB out of guest memory once (16 bytes through the guest-memory rule)
// and decides on the copy: a TRB whose cycle bit differs from the consumer's cycle state ends
// the walk (the guest has not produced it yet); a Link TRB is followed (its target read
// through the same rule, the cycle state flipped where it says so) and is not copied, since
// the shadow ring has links of its own. Refused, with a reason: an address the rule refuses,
// a link target that is not 16-byte aligned, two links in a row (a zero-length segment, and
// every link loop that produces no TRB), and more than `max` TRBs in one walk (a loop that
// does produce TRBs, or a ring the shadow cannot take in one piece).
#pragma once

#include "core/types.hpp"
#include "drivers/usb/xhci_trb.hpp"

namespace tv::usb {

// Guest memory as the mediator may touch it: the device kit's GuestMemory rule in the monitor,
// a fake in host tests. A range is accepted whole or refused whole.
class GuestView {
  public:
    [[nodiscard]] virtual bool ok(Gpa gpa, u64 len) const = 0;
    [[nodiscard]] virtual bool read(Gpa gpa, void* dst, u64 len) const = 0;
    [[nodiscard]] virtual bool write(Gpa gpa, void const* src, u64 len) const = 0;

  protected:
    ~GuestView() = default;
};

// The consumer's place in a guest ring: the next TRB to read and the cycle state it expects.
struct RingCursor {
    Gpa next{0};
    bool cycle{false};
};

// A TRB the walk copied, with where the guest had it (events name the guest's address).
struct CopiedTrb {
    Trb trb;
    Gpa from;
};

struct WalkResult {
    u32 count{0};             // TRBs copied into out[0, count)
    char const* why{nullptr};  // nullptr: the walk ended at a TRB the guest has not produced
};

// Links followed in a row before the walk calls it a loop: one is a ring's wrap, a second one
// straight after it is a zero-length segment.
inline constexpr u32 kMaxLinksInRow = 1;

// Copies the guest's new TRBs from *cur into out[0, max), advancing *cur past them (and past
// the links followed). On a refusal *cur stays where the refused TRB is, and the TRBs before
// it are in out[0, count).
[[nodiscard]] WalkResult ring_walk(GuestView const& g, RingCursor* cur, CopiedTrb* out, u32 max);

}  // namespace tv::usb
