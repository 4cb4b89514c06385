// EhciSchedule as the periodic schedule's pool of QH shadows (ehci_schedule.hpp, "pool_"):
// the QH and qTD shadowing, checks and write-back are the async schedule's own (take_qh,
// refresh, write_back); what differs is who walks (ehci_periodic.cpp walks the frame list's
// tree) and when an unlinked QH may be freed (frames later, not at a doorbell).
#include "drivers/usb/ehci_dma.hpp"
#include "drivers/usb/ehci_schedule.hpp"

namespace tv::usb {

static_assert(EhciSchedule::kMaxQh <= 64, "pool_end's mask");

void EhciSchedule::pool_begin(char const* what) {
    what_ = what;
    if (!virt_) return;
    ++counters_.syncs;
    for (u32 i = 0; i < kMaxQh; ++i) {
        qh_[i].in_walk = false;
        if (qh_[i].use != QhUse::Free) write_back(i);
    }
}

u32 EhciSchedule::pool_take(u32 g, Qh const& copy) {
    u32 i = kMaxQh;
    if (!virt_ || !take_qh(g, copy, &i)) return kMaxQh;
    qh_[i].in_walk = true;
    refresh(i);
    return i;
}

// The tree is linked from its leaves up (ehci_periodic.cpp): a QH's shadow is complete (its
// overlay's qTD pointers written by refresh, its own link here) before anything links to it.
void EhciSchedule::pool_link(u32 i, u32 hlink) {
    Qh* h = qh_virt(i);
    if (dev_load(&h->hlink) != hlink) dev_store(&h->hlink, hlink);
    dev_fence();
    qh_[i].fresh = false;
}

u64 EhciSchedule::pool_end() {
    u64 left = 0;
    for (u32 i = 0; i < kMaxQh; ++i) {
        if (qh_[i].use != QhUse::Linked || qh_[i].in_walk) continue;
        qh_[i].use = QhUse::Retiring;
        left |= u64{1} << i;
    }
    return left;
}

void EhciSchedule::pool_free(u32 i) {
    if (qh_[i].use == QhUse::Free) return;
    write_back(i);  // the last completions before the guest may reuse the QH
    clear_qh(i);
}

}  // namespace tv::usb
