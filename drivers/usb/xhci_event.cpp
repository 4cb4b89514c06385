// The guest's event ring (xhci_event.hpp).
#include "drivers/usb/xhci_event.hpp"

#include <string.h>

namespace tv::usb {

char const* GuestEventRing::load(GuestView const& g, Gpa erstba, u32 erstsz, u32 erst_max) {
    reset();
    if (erstsz == 0 || erstsz > erst_max || erstsz > kMaxSegments) return "ERSTSZ out of range";
    if (!is_aligned(erstba.raw, 64)) return "ERSTBA not 64-byte aligned";
    ErstEntry table[kMaxSegments];
    if (!g.read(erstba, table, u64{erstsz} * sizeof(ErstEntry))) return "segment table outside guest memory";
    Segment segs[kMaxSegments];
    for (u32 i = 0; i < erstsz; ++i) {
        u32 const n = table[i].size & 0xFFFF;
        if (!is_aligned(table[i].base, 64)) return "event ring segment not 64-byte aligned";
        if (n < kMinSegmentTrbs || n > kMaxSegmentTrbs) return "event ring segment size out of range";
        if (!g.ok(Gpa{table[i].base}, u64{n} * kTrbBytes)) return "event ring segment outside guest memory";
        segs[i] = Segment{table[i].base, n};
    }
    memcpy(segs_, segs, sizeof(Segment) * erstsz);
    nsegs_ = erstsz;
    return nullptr;
}

void GuestEventRing::next(u32* seg, u32* idx) const {
    if (++*idx < segs_[*seg].trbs) return;
    *idx = 0;
    *seg = (*seg + 1) % nsegs_;
}

bool GuestEventRing::set_dequeue(Gpa erdp) {
    for (u32 s = 0; s < nsegs_; ++s) {
        u64 const base = segs_[s].base, end = base + u64{segs_[s].trbs} * kTrbBytes;
        if (erdp.raw < base || erdp.raw >= end || !is_aligned(erdp.raw - base, kTrbBytes)) continue;
        dseg_ = s;
        didx_ = static_cast<u32>((erdp.raw - base) / kTrbBytes);
        return true;
    }
    return false;
}

bool GuestEventRing::full() const {
    if (!nsegs_) return true;
    u32 s = seg_, i = idx_;
    next(&s, &i);
    return s == dseg_ && i == didx_;
}

bool GuestEventRing::push(GuestView const& g, Trb ev) {
    if (full()) return false;
    set_trb_cycle(ev, cycle_);
    Gpa const where = producer();
    if (!g.write(where, &ev, 12) || !g.write(Gpa{where.raw + 12}, &ev.control, 4)) return false;
    next(&seg_, &idx_);
    if (seg_ == 0 && idx_ == 0) cycle_ = !cycle_;  // wrapped past the last segment
    return true;
}

}  // namespace tv::usb
