// The guest ring walk (xhci_ring.hpp): one 16-byte copy per TRB, every decision on the copy.
#include "drivers/usb/xhci_ring.hpp"

namespace tv::usb {

WalkResult ring_walk(GuestView const& g, RingCursor* cur, CopiedTrb* out, u32 max) {
    WalkResult r;
    RingCursor c = *cur;
    u32 links = 0;
    for (;;) {
        if (!is_aligned(c.next.raw, kTrbBytes)) {
            r.why = "ring pointer not 16-byte aligned";
            return r;
        }
        Trb t;
        if (!g.read(c.next, &t, sizeof t)) {
            r.why = "ring outside guest memory";
            return r;
        }
        if (trb_cycle(t) != c.cycle) return r;  // not produced yet: *cur already stands here
        if (trb_type(t) == TrbType::Link) {
            if (++links > kMaxLinksInRow) {
                r.why = "link TRB after a link TRB (zero-length segment or loop)";
                return r;
            }
            if (t.param & ~kTrbPointerMask) {
                r.why = "link TRB target not 16-byte aligned";
                return r;
            }
            c.next = Gpa{t.param};
            if (t.control & kTrbToggleCycle) c.cycle = !c.cycle;
            // The link is consumed only once the TRB after it is: a refusal leaves *cur on it.
            continue;
        }
        if (r.count == max) {
            r.why = "more TRBs than one doorbell may carry";
            return r;
        }
        out[r.count++] = CopiedTrb{t, c.next};
        links = 0;
        c.next = Gpa{c.next.raw + kTrbBytes};
        *cur = c;
    }
}

}  // namespace tv::usb
