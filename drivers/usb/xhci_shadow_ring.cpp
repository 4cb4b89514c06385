// Shadow rings (xhci_shadow_ring.hpp).
#include "drivers/usb/xhci_shadow_ring.hpp"

#include <string.h>

namespace tv::usb {

void ShadowRing::init(DmaMem page) {
    page_ = page;
    reset();
}

void ShadowRing::reset() {
    memset(page_.virt, 0, kPageSize);
    producer_ = dequeue_ = 0;
    cycle_ = true;
    memset(from_, 0, sizeof from_);
    memset(refused_, 0, sizeof refused_);
    memset(tag_, 0, sizeof tag_);
}

u32 ShadowRing::space() const { return (dequeue_ + kUsable - producer_ - 1) % kUsable; }

bool ShadowRing::push(Trb t, Gpa from, bool refused, u16 tag) {
    if (!space()) return false;
    set_trb_cycle(t, cycle_);
    Trb* slot = trbs() + producer_;
    slot->param = t.param;
    slot->status = t.status;
    __atomic_store_n(&slot->control, t.control, __ATOMIC_RELEASE);  // the cycle bit last
    from_[producer_] = from;
    refused_[producer_] = refused ? 1 : 0;
    tag_[producer_] = tag;
    if (++producer_ == kUsable) {
        // A TD may run across the wrap: the link then belongs to it and carries its chain bit.
        Trb link{page_.dev.raw, 0, kTrbToggleCycle | (t.control & kTrbChain)};
        set_trb_type(link, TrbType::Link);
        set_trb_cycle(link, cycle_);
        Trb* l = trbs() + kUsable;
        l->param = link.param;
        l->status = 0;
        __atomic_store_n(&l->control, link.control, __ATOMIC_RELEASE);
        producer_ = 0;
        cycle_ = !cycle_;
    }
    return true;
}

bool ShadowRing::complete(u64 dev_addr, Gpa* guest, bool* refused, u16* tag) {
    if (dev_addr < page_.dev.raw || !is_aligned(dev_addr - page_.dev.raw, kTrbBytes)) return false;
    u64 const idx = (dev_addr - page_.dev.raw) / kTrbBytes;
    if (idx >= kUsable) return false;
    *guest = from_[idx];
    *refused = refused_[idx] != 0;
    if (tag) *tag = tag_[idx];
    dequeue_ = static_cast<u32>((idx + 1) % kUsable);
    return true;
}

Gpa ShadowRing::guest_of(u64 dev_addr, Gpa next) const {
    u64 const a = dev_addr & ~u64{0xF};
    if (!holds(a)) return next;
    u64 const idx = (a - page_.dev.raw) / kTrbBytes;
    if (idx >= kUsable || idx == producer_) return next;
    return from_[idx];
}

}  // namespace tv::usb
