// Shadow rings (xhci_shadow_ring.hpp).
#include "drivers/usb/xhci_shadow_ring.hpp"

#include <string.h>

namespace tv::usb {

void ShadowRing::init(DmaMem mem, u32 pages) {
    page_ = mem;
    usable_ = static_cast<u32>((pages == kMaxPages ? kMaxPages : 1) * kPageSize / kTrbBytes - 1);
    reset();
}

void ShadowRing::reset() {
    memset(page_.virt, 0, bytes());
    producer_ = dequeue_ = 0;
    cycle_ = true;
    memset(from_, 0, sizeof from_);
    memset(refused_, 0, sizeof refused_);
    memset(tag_, 0, sizeof tag_);
}

u32 ShadowRing::space() const { return (dequeue_ + usable_ - producer_ - 1) % usable_; }

bool ShadowRing::push(Trb t, Gpa from, bool refused, u16 tag, bool monitor_ioc) {
    if (!space()) return false;
    set_trb_cycle(t, cycle_);
    Trb* slot = trbs() + producer_;
    slot->param = t.param;
    slot->status = t.status;
    __atomic_store_n(&slot->control, t.control, __ATOMIC_RELEASE);  // the cycle bit last
    from_[producer_] = from;
    refused_[producer_] = static_cast<u8>((refused ? 1 : 0) | (monitor_ioc ? 2 : 0));
    tag_[producer_] = tag;
    if (++producer_ == usable_) {
        // A TD may run across the wrap: the link then belongs to it and carries its chain bit.
        Trb link{page_.dev.raw, 0, kTrbToggleCycle | (t.control & kTrbChain)};
        set_trb_type(link, TrbType::Link);
        set_trb_cycle(link, cycle_);
        Trb* l = trbs() + usable_;
        l->param = link.param;
        l->status = 0;
        __atomic_store_n(&l->control, link.control, __ATOMIC_RELEASE);
        producer_ = 0;
        cycle_ = !cycle_;
    }
    return true;
}

bool ShadowRing::complete(u64 dev_addr, Gpa* guest, bool* refused, u16* tag, bool* monitor_ioc) {
    if (dev_addr < page_.dev.raw || !is_aligned(dev_addr - page_.dev.raw, kTrbBytes)) return false;
    u64 const idx = (dev_addr - page_.dev.raw) / kTrbBytes;
    if (idx >= usable_) return false;
    *guest = from_[idx];
    *refused = (refused_[idx] & 1) != 0;
    if (monitor_ioc) *monitor_ioc = (refused_[idx] & 2) != 0;
    if (tag) *tag = tag_[idx];
    dequeue_ = static_cast<u32>((idx + 1) % usable_);
    return true;
}

Gpa ShadowRing::guest_of(u64 dev_addr, Gpa next) const {
    u64 const a = dev_addr & ~u64{0xF};
    if (!holds(a)) return next;
    u64 const idx = (a - page_.dev.raw) / kTrbBytes;
    if (idx >= usable_ || idx == producer_) return next;
    return from_[idx];
}

}  // namespace tv::usb
