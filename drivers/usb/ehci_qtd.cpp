// The qTD chains of the EHCI shadow (ehci_schedule.hpp): which qTDs of a queue head the
// controller can reach, each copied once per sync unless the controller holds it, checked
// when Active, and the pointers between shadows.
#include <string.h>

#include "drivers/usb/ehci_dma.hpp"
#include "drivers/usb/ehci_schedule.hpp"

namespace tv::usb {

namespace {

constexpr u32 kNone = ~0u;

constexpr u32 index_hash(u32 guest) { return ((guest >> 5) * 2654435761u) >> 25; }  // 7 bits: 128 entries

}  // namespace

char const* check_qtd(GuestView const& g, Qtd const& t) {
    if (qtd_pid(t.token) == QtdPid::Reserved) return "qTD with the reserved PID code";
    u32 left = qtd_bytes(t.token);
    if (left > kQtdMaxBytes) return "qTD of more than 20 KiB";
    u32 page = qtd_cpage(t.token);
    if (page > 4) return "qTD current page past its fifth buffer";
    u32 off = t.buffer[0] & ~kBufferPageMask;
    while (left) {
        if (page > 4) return "qTD buffer runs past its fifth page";
        u32 const chunk = left < kPageSize - off ? left : static_cast<u32>(kPageSize - off);
        if (!g.ok(Gpa{u64{t.buffer[page] & kBufferPageMask} + off}, chunk)) return "qTD buffer outside guest memory";
        left -= chunk;
        off = 0;
        ++page;
    }
    return nullptr;
}

u32 EhciSchedule::find_qtd(u32 i, u32 guest) const {
    QhSlot const& s = qh_[i];
    for (u32 h = index_hash(guest), n = 0; n < kIndexSize && s.index[h]; h = (h + 1) & (kIndexSize - 1), ++n) {
        QtdSlot const& t = s.q[s.index[h] - 1];
        if (t.used && t.guest == guest) return s.index[h] - 1u;
    }
    return kNone;
}

void EhciSchedule::index_add(u32 i, u32 k) {
    QhSlot& s = qh_[i];
    u32 h = index_hash(s.q[k].guest);
    while (s.index[h]) h = (h + 1) & (kIndexSize - 1);  // never full: at most kQtdsPerQh entries
    s.index[h] = static_cast<u8>(k + 1);
}

void EhciSchedule::index_rebuild(u32 i) {
    QhSlot& s = qh_[i];
    memset(s.index, 0, sizeof s.index);
    for (u32 k = 0; k < kQtdsPerQh; ++k)
        if (s.q[k].used) index_add(i, k);
}

u32 EhciSchedule::slot_of(u32 i, u32 device) const {
    u32 const d = device & kLinkMask;
    u32 const first = qtd_dev(i, 0);
    if (d < first || d >= first + kQtdsPerQh * u32{sizeof(Qtd)}) return kNone;
    u32 const k = (d - first) / u32{sizeof(Qtd)};
    return qh_[i].q[k].used ? k : kNone;
}

// A pointer the controller holds, as the guest must see it: its own qTD's address.
u32 EhciSchedule::guest_ptr(u32 i, u32 device, u32 fallback) const {
    if (device & kLinkTerminate) return device;
    u32 const k = slot_of(i, device);
    return k == kNone ? fallback : qh_[i].q[k].guest | (device & kAltNextNakCnt);
}

// A guest pointer as the controller must see it: the shadow of that qTD, or the end.
u32 EhciSchedule::device_ptr(u32 i, u32 guest) const {
    if (guest & kLinkTerminate) return kLinkTerminate;
    u32 const k = find_qtd(i, guest & kLinkMask);
    return k == kNone ? kLinkTerminate : qtd_dev(i, k);
}

// The qTDs the controller can reach from this QH: the overlay's next and alternate next, and
// from there the pointers of Active qTDs only (the controller stops at an inactive one and
// never follows its pointers). The overlay's current qTD is kept for the controller's write-
// back but not read again from the guest while the overlay is inactive: once completed it is
// the guest's, which may free it and use the memory for another queue's qTD.
void EhciSchedule::refresh(u32 i) {
    QhSlot& s = qh_[i];
    for (u32 k = 0; k < kQtdsPerQh; ++k) {
        s.q[k].reached = false;
        has_pending_[k] = false;
    }
    // Each qTD reached pushes at most two pointers: the stack cannot overflow.
    u32 work[2 * kQtdsPerQh + 3];
    u32 nw = 0;
    auto push = [&](u32 ptr) {
        if (!(ptr & kLinkTerminate) && nw < sizeof work / sizeof work[0]) work[nw++] = ptr & kLinkMask;
    };
    // The roots, also where the chain order of the copies starts (the hook sees a transfer's
    // qTDs in the order the device runs them).
    u32 roots[3];
    u32 nr = 0;
    auto root = [&](u32 ptr) {
        push(ptr);
        if (!(ptr & kLinkTerminate) && nr < 3) roots[nr++] = ptr & kLinkMask;
    };
    u32 current = kNone;
    if (s.fresh) {
        root(s.import_next);
        root(s.import_alt);
    } else {
        Qh* h = qh_virt(i);
        current = slot_of(i, dev_load(&h->current));
        if (current != kNone && (dev_load(&h->overlay.token) & kQtdActive)) root(s.q[current].guest);
        u32 const ptrs[2] = {dev_load(&h->overlay.next), dev_load(&h->overlay.alt_next)};
        for (u32 ptr : ptrs)
            if (!(ptr & kLinkTerminate) && slot_of(i, ptr) != kNone) root(s.q[slot_of(i, ptr)].guest);
    }
    while (nw) reach(i, work[--nw], push);
    // A completed current qTD is kept as the controller left it, unless the guest queued a new
    // qTD at the same address (its memory reused) that the chain reaches: then that was copied.
    if (current != kNone && s.q[current].used) s.q[current].reached = true;
    u32 order[kQtdsPerQh];
    bool active[kQtdsPerQh];
    u32 const n = chain_order(i, roots, nr, order);
    for (u32 x = 0; x < n; ++x) active[x] = prepare_qtd(i, order[x], pending_[order[x]], &img_[order[x]]);
    if (hook_ && n) hook_->batch_end(dev_load(&qh_virt(i)->epchar));
    for (u32 x = 0; x < n; ++x) write_qtd(i, order[x], img_[order[x]], active[x]);
    bool freed = false;
    for (u32 k = 0; k < kQtdsPerQh; ++k) {
        QtdSlot& t = s.q[k];
        if (!t.used || t.reached || t.given) continue;
        t = QtdSlot{};
        freed = true;
        Qtd const z{kLinkTerminate, kLinkTerminate, 0, {}};
        Qtd* d = qtd_virt(i, k);
        dev_store(&d->token, 0);
        dev_fence();
        memcpy(d, &z, sizeof z);
    }
    if (freed) index_rebuild(i);
    if (s.fresh) {
        Qh* h = qh_virt(i);
        dev_store(&h->overlay.next, device_ptr(i, s.import_next));
        dev_store(&h->overlay.alt_next, device_ptr(i, s.import_alt));
    }
}

// One qTD the controller can reach: its slot found or taken, and unless the controller holds
// it, a copy of the guest's pending for copy_qtd. An Active one's pointers are followed.
template <class Push>
void EhciSchedule::reach(u32 i, u32 a, Push& push) {
    QhSlot& s = qh_[i];
    u32 k = find_qtd(i, a);
    if (k == kNone) {
        k = find_qtd_free(i);
        if (k == kNone) {
            refuse("more qTDs queued on one queue head than the shadow holds");
            return;
        }
        s.q[k] = QtdSlot{};
        s.q[k].guest = a;
        s.q[k].gnext = s.q[k].galt = kLinkTerminate;
        s.q[k].used = true;
        index_add(i, k);
    }
    QtdSlot& t = s.q[k];
    if (t.reached) return;
    t.reached = true;
    if (t.given) {  // the controller's: its pointers are those it was given
        push(t.gnext);
        push(t.galt);
        return;
    }
    has_pending_[k] = true;
    if (!env_->guest().read(Gpa{a}, &pending_[k], sizeof(Qtd))) {
        refuse("qTD outside guest memory");
        pending_[k] = Qtd{kLinkTerminate, kLinkTerminate, 0, {}};  // an empty end for the controller
        return;
    }
    if (!(pending_[k].token & kQtdActive)) return;
    push(pending_[k].next);
    push(pending_[k].alt_next);
}

u32 EhciSchedule::find_qtd_free(u32 i) const {
    for (u32 k = 0; k < kQtdsPerQh; ++k)
        if (!qh_[i].q[k].used) return k;
    return kNone;
}

// The qTDs copied at this sync, in the order the controller will run them: along the next
// pointers from the roots (through qTDs the controller holds), then any others.
u32 EhciSchedule::chain_order(u32 i, u32 const* roots, u32 nroots, u32* order) const {
    QhSlot const& s = qh_[i];
    bool taken[kQtdsPerQh]{};
    u32 n = 0;
    for (u32 r = 0; r < nroots; ++r) {
        u32 at = roots[r];
        for (u32 hops = 0; hops < kQtdsPerQh; ++hops) {
            u32 const k = find_qtd(i, at);
            if (k == kNone || taken[k]) break;
            if (has_pending_[k] && s.q[k].used) {
                taken[k] = true;
                order[n++] = k;
                if (!(pending_[k].token & kQtdActive)) break;
                at = pending_[k].next;
            } else if (s.q[k].given) {
                at = s.q[k].gnext;
            } else {
                break;
            }
            if (at & kLinkTerminate) break;
            at &= kLinkMask;
        }
    }
    for (u32 k = 0; k < kQtdsPerQh; ++k)
        if (has_pending_[k] && s.q[k].used && !taken[k]) order[n++] = k;
    return n;
}

// The guest's qTD c as shadow slot k will hold it: pointers translated, an Active one checked
// and shown to the hook (which may move its buffers to monitor memory), an inactive or
// refused one without buffers. True when it is given Active.
bool EhciSchedule::prepare_qtd(u32 i, u32 k, Qtd const& c, Qtd* img) {
    QtdSlot& t = qh_[i].q[k];
    *img = c;
    img->next = device_ptr(i, c.next);
    img->alt_next = device_ptr(i, c.alt_next);
    t.gnext = c.next;
    t.galt = c.alt_next;
    bool active = (c.token & kQtdActive) != 0;
    if (active) {
        t.tag = 0;  // the last tag stays while the slot is not given again: the overlay may name it
        char const* why = check_qtd(env_->guest(), c);
        u16 tag = 0;
        if (!why && hook_) why = hook_->give(dev_load(&qh_virt(i)->epchar), c, img, &tag);
        if (why) {
            refuse(why);
            u32 const halted = (c.token & ~kQtdActive) | kQtdHalted;
            (void)env_->guest().write(Gpa{u64{t.guest} + 8}, &halted, sizeof halted);
            *img = c;
            img->token = halted;
            active = false;
        } else if (tag) {
            t.tag = tag;
            t.gtoken = c.token;
            memcpy(t.gbuf, c.buffer, sizeof t.gbuf);
        }
    }
    if (!active) {  // the controller neither moves its data nor follows its pointers
        memset(img->buffer, 0, sizeof img->buffer);
        img->next = img->alt_next = kLinkTerminate;
    }
    return active;
}

// Shadow slot k gets img, written only when it differs, the token last. A tagged qTD whose
// data the hook has not made ready (a sector not sealed) is refused here.
void EhciSchedule::write_qtd(u32 i, u32 k, Qtd img, bool active) {
    QtdSlot& t = qh_[i].q[k];
    if (active && t.tag && hook_ && !hook_->ready(dev_load(&qh_virt(i)->epchar), t.tag)) {
        refuse("data the device would read before it was sealed");
        img.token = (t.gtoken & ~kQtdActive) | kQtdHalted;
        (void)env_->guest().write(Gpa{u64{t.guest} + 8}, &img.token, sizeof img.token);
        memset(img.buffer, 0, sizeof img.buffer);
        img.next = img.alt_next = kLinkTerminate;
        t.tag = 0;
        active = false;
    }
    Qtd* d = qtd_virt(i, k);
    Qtd now;
    now.next = dev_load(&d->next);
    now.alt_next = dev_load(&d->alt_next);
    now.token = dev_load(&d->token);
    for (u32 b = 0; b < 5; ++b) now.buffer[b] = dev_load(&d->buffer[b]);
    if (memcmp(&now, &img, sizeof img) == 0) return;
    dev_store(&d->next, img.next);
    dev_store(&d->alt_next, img.alt_next);
    for (u32 b = 0; b < 5; ++b) dev_store(&d->buffer[b], img.buffer[b]);
    dev_fence();
    dev_store(&d->token, img.token);
    if (active) {
        t.given = true;
        t.noted = false;
        ++counters_.qtds_copied;
    }
}

// A tagged qTD's token and first buffer word as the guest must see them: its own pages, the
// controller's progress (bytes left) carried over.
bool EhciSchedule::guest_words(u32 i, u32 k, u32 token, u32* gtoken, u32* gbuf0) const {
    QtdSlot const& t = qh_[i].q[k];
    if (!t.tag) return false;
    u32 const given = qtd_bytes(t.gtoken), left = qtd_bytes(token);
    u32 const pos = (t.gbuf[0] & ~kBufferPageMask) + (left < given ? given - left : 0);
    u32 cpage = qtd_cpage(t.gtoken) + pos / static_cast<u32>(kPageSize);
    if (cpage > 4) cpage = 4;
    *gtoken = (token & ~(7u << 12)) | cpage << 12;
    *gbuf0 = (t.gbuf[0] & kBufferPageMask) | (pos & ~kBufferPageMask);
    return true;
}

}  // namespace tv::usb
