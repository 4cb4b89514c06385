// The shadow of the EHCI asynchronous schedule (ehci_schedule.hpp): the QH ring walk, the
// links of the shadow ring, write-back and retirement. The qTD chains are in ehci_qtd.cpp.
#include "drivers/usb/ehci_schedule.hpp"

#include <string.h>

#include "drivers/usb/ehci_dma.hpp"

namespace tv::usb {

bool EhciSchedule::init(EhciEnv* env, DmaMem mem) {
    env_ = env;
    if (!mem.virt || mem.dev.raw + u64{kPages} * kPageSize > (u64{1} << 32)) return false;
    virt_ = mem.virt;
    dev_ = static_cast<u32>(mem.dev.raw);
    reset();
    return true;
}

void EhciSchedule::reset() {
    for (u32 i = 0; i < kMaxQh; ++i) clear_qh(i);
    // The idle head: what the controller runs while the guest's head cannot be shadowed.
    Qh* h = qh_virt(kMaxQh);
    Qh idle{};
    idle.hlink = qh_link(qh_dev(kMaxQh));
    idle.epchar = kQhHead;
    idle.overlay = Qtd{kLinkTerminate, kLinkTerminate, kQtdHalted, {}};
    memcpy(h, &idle, sizeof idle);
    guest_head_ = 0;
    head_set_ = false;
}

void EhciSchedule::clear_qh(u32 i) {
    QhSlot& s = qh_[i];
    s = QhSlot{};
    Qh* h = qh_virt(i);
    Qh dead{};
    dead.hlink = qh_link(qh_dev(kMaxQh));  // a stale reference ends in the idle head
    dead.overlay = Qtd{kLinkTerminate, kLinkTerminate, kQtdHalted, {}};
    memcpy(h, &dead, sizeof dead);
    for (u32 k = 0; k < kQtdsPerQh; ++k) {
        Qtd const z{kLinkTerminate, kLinkTerminate, 0, {}};
        memcpy(qtd_virt(i, k), &z, sizeof z);
    }
}

void EhciSchedule::refuse(char const* why) {
    ++counters_.refused;
    if (env_) env_->refused(what_, why);
}

u32 EhciSchedule::set_head(u32 guest) {
    guest_head_ = guest & kLinkMask;
    head_set_ = true;
    sync();
    u32 const d = device_qh_of(guest_head_);
    return d ? d : qh_dev(kMaxQh);
}

u32 EhciSchedule::device_qh_of(u32 guest) const {
    for (u32 i = 0; i < kMaxQh; ++i)
        if (qh_[i].use == QhUse::Linked && qh_[i].guest == guest) return qh_dev(i);
    return 0;
}

u32 EhciSchedule::guest_of_device_qh(u32 device) const {
    u32 const d = device & kLinkMask;
    if (d >= dev_ && d < dev_ + kMaxQh * kQhBytes && (d - dev_) % kQhBytes == 0) {
        QhSlot const& s = qh_[(d - dev_) / kQhBytes];
        if (s.use != QhUse::Free) return s.guest;
    }
    return guest_head_;
}

void EhciSchedule::sync() {
    if (!head_set_ || !virt_) return;
    ++counters_.syncs;
    for (u32 i = 0; i < kMaxQh; ++i)
        if (qh_[i].use != QhUse::Free) write_back(i);
    u32 order[kMaxQh];
    u32 const n = walk_ring(order);
    for (u32 k = 0; k < n; ++k) refresh(order[k]);
    link(order, n);
}

// The controller's overlay, translated, into the guest's QH (words 3..11) when it changed.
void EhciSchedule::write_back(u32 i) {
    QhSlot& s = qh_[i];
    GuestView const& g = env_->guest();
    complete(i);
    if (s.fresh) return;
    Qh* h = qh_virt(i);
    u32 w[9];
    w[0] = dev_load(&h->current);
    w[1] = dev_load(&h->overlay.next);
    w[2] = dev_load(&h->overlay.alt_next);
    w[3] = dev_load(&h->overlay.token);
    for (u32 b = 0; b < 5; ++b) w[4 + b] = dev_load(&h->overlay.buffer[b]);
    // An overlay loaded from a qTD whose buffers are the monitor's shows the guest its own.
    u32 const cur = slot_of(i, w[0]);
    if (cur != ~0u && guest_words(i, cur, w[3], &w[3], &w[4]))
        for (u32 b = 1; b < 5; ++b) w[4 + b] = (s.q[cur].gbuf[b] & kBufferPageMask) | (w[4 + b] & ~kBufferPageMask);
    w[0] = guest_ptr(i, w[0], s.guest_current);
    w[1] = guest_ptr(i, w[1], kLinkTerminate);
    w[2] = guest_ptr(i, w[2], kLinkTerminate);
    if (memcmp(w, s.written, sizeof w) == 0) return;
    if (g.write(Gpa{u64{s.guest} + 12}, w, sizeof w)) memcpy(s.written, w, sizeof w);
}

// Completed qTDs' tokens into the guest's qTDs. The hook hears of every tagged completion
// first (it copies bounced data to the guest), then each is shown unless the hook holds it.
void EhciSchedule::complete(u32 i) {
    QhSlot& s = qh_[i];
    u32 const epchar = dev_load(&qh_virt(i)->epchar);
    for (u32 k = 0; k < kQtdsPerQh && hook_; ++k) {
        QtdSlot& t = s.q[k];
        if (!t.used || !t.given || !t.tag || t.noted) continue;
        u32 const token = dev_load(&qtd_virt(i, k)->token);
        if (token & kQtdActive) continue;
        t.noted = true;
        hook_->completed(epchar, t.tag, token);
    }
    for (u32 k = 0; k < kQtdsPerQh; ++k) {
        QtdSlot& t = s.q[k];
        if (!t.used || !t.given) continue;
        Qtd* d = qtd_virt(i, k);
        u32 const token = dev_load(&d->token);
        if (token & kQtdActive) continue;
        // A tagged qTD the first pass did not see completed (the controller finished it since)
        // waits for the next sync: its data is not in the guest's buffer yet.
        if (t.tag && hook_ && (!t.noted || !hook_->release(epchar, t.tag))) continue;
        u32 words[2] = {token, dev_load(&d->buffer[0])};
        (void)guest_words(i, k, token, &words[0], &words[1]);
        (void)env_->guest().write(Gpa{u64{t.guest} + 8}, words, sizeof words);  // checked when copied
        t.given = false;
        ++counters_.completions;
    }
}

// The guest's ring from its head: QHs copied and taken, in order; returns how many.
u32 EhciSchedule::walk_ring(u32* order) {
    GuestView const& g = env_->guest();
    for (u32 i = 0; i < kMaxQh; ++i) qh_[i].in_walk = false;
    u32 n = 0;
    u32 at = guest_head_;
    for (;;) {
        for (u32 k = 0; k < n; ++k)
            if (qh_[order[k]].guest == at) return n;  // back at a QH seen: the ring closes here
        if (n == kMaxQh) {
            refuse("more queue heads than the shadow holds");
            return n;
        }
        Qh copy;
        if (!g.read(Gpa{at}, &copy, sizeof copy)) {
            refuse("queue head outside guest memory");
            return n;
        }
        u32 i = 0;
        if (!take_qh(at, copy, &i)) return n;
        qh_[i].in_walk = true;
        order[n++] = i;
        if (copy.hlink & kLinkTerminate) return n;  // not a ring: closed here all the same
        if (link_type(copy.hlink) != LinkType::Qh) {
            refuse("an entry other than a queue head in the asynchronous schedule");
            return n;
        }
        at = copy.hlink & kLinkMask;
    }
}

// The shadow of the guest QH at g: found (revived if retiring) or made from the copy.
bool EhciSchedule::take_qh(u32 g, Qh const& copy, u32* index) {
    u32 free = kMaxQh;
    for (u32 i = 0; i < kMaxQh; ++i) {
        QhSlot& s = qh_[i];
        if (s.use == QhUse::Free) {
            if (free == kMaxQh) free = i;
            continue;
        }
        if (s.guest != g) continue;
        if (s.stopped && memcmp(&copy.current, s.written, sizeof s.written) != 0) {
            free = i;  // rebuilt in place while the controller held nothing: a new QH
            break;
        }
        s.use = QhUse::Linked;
        Qh* h = qh_virt(i);
        // Endpoint words carry no address: the guest's own (a new device address, a new
        // max packet size) are the controller's too.
        if (dev_load(&h->epchar) != copy.epchar) dev_store(&h->epchar, copy.epchar);
        if (dev_load(&h->epcap) != copy.epcap) dev_store(&h->epcap, copy.epcap);
        restart_check(i, copy);
        *index = i;
        return true;
    }
    if (free == kMaxQh) {
        refuse("more queue heads than the shadow holds");
        return false;
    }
    clear_qh(free);  // a rebuilt QH's completions were written back at the sync's start
    QhSlot& s = qh_[free];
    s.guest = g;
    s.stopped = !running_;
    s.use = QhUse::Linked;
    s.fresh = true;
    s.guest_current = copy.current;
    s.import_next = copy.overlay.next;
    s.import_alt = copy.overlay.alt_next;
    Qh* h = qh_virt(free);
    dev_store(&h->epchar, copy.epchar);
    dev_store(&h->epcap, copy.epcap);
    dev_store(&h->current, 0);
    // The controller starts from the next qTD; the guest's toggle, ping and halt stay.
    dev_store(&h->overlay.token, copy.overlay.token & ~kQtdActive);
    ++counters_.qh_linked;
    *index = free;
    return true;
}

// The guest restarting a halted queue: its new token for the overlay, checked like a qTD's
// against the overlay's buffers (the controller's, checked when it loaded them).
void EhciSchedule::restart_check(u32 i, Qh const& copy) {
    QhSlot const& s = qh_[i];
    Qh* h = qh_virt(i);
    u32 const mine = dev_load(&h->overlay.token);
    u32 const theirs = copy.overlay.token;
    if (s.fresh || theirs == s.written[3] || !(mine & kQtdHalted) || (mine & kQtdActive)) return;
    // Only a queue halted on a qTD of its own: the controller writes the overlay back there.
    if (slot_of(i, dev_load(&h->current)) == ~0u) return;
    if (!(theirs & kQtdActive) || (theirs & kQtdHalted)) return;
    Qtd probe{};
    probe.token = theirs;
    for (u32 b = 0; b < 5; ++b) probe.buffer[b] = dev_load(&h->overlay.buffer[b]);
    if (char const* why = check_qtd(env_->guest(), probe)) {
        refuse(why);
        return;
    }
    dev_store(&h->overlay.token, theirs);
}

// The shadow ring in the guest's order, closed. New QHs' own links are written before any
// link to them, so the controller never follows a link into a half-built QH.
void EhciSchedule::link(u32 const* order, u32 n) {
    for (int pass = 0; pass < 2; ++pass) {
        for (u32 k = 0; k < n; ++k) {
            u32 const i = order[k];
            if (qh_[i].fresh != (pass == 0)) continue;
            u32 const want = qh_link(qh_dev(order[(k + 1) % n]));
            Qh* h = qh_virt(i);
            if (dev_load(&h->hlink) != want) dev_store(&h->hlink, want);
        }
        dev_fence();
    }
    for (u32 k = 0; k < n; ++k) qh_[order[k]].fresh = false;
    for (u32 i = 0; i < kMaxQh; ++i)
        if (qh_[i].use == QhUse::Linked && !qh_[i].in_walk) qh_[i].use = QhUse::Retiring;
}

void EhciSchedule::iaa_doorbell() {
    for (u32 i = 0; i < kMaxQh; ++i)
        if (qh_[i].use == QhUse::Retiring) qh_[i].use = QhUse::AwaitIaa;
}

void EhciSchedule::iaa_done() { free_retired(QhUse::AwaitIaa); }

void EhciSchedule::async_stopped() {
    free_retired(QhUse::AwaitIaa);
    free_retired(QhUse::Retiring);
    running_ = false;
    for (QhSlot& s : qh_)
        if (s.use == QhUse::Linked) s.stopped = true;
}

void EhciSchedule::async_started() {
    running_ = true;
    for (QhSlot& s : qh_) s.stopped = false;
}

void EhciSchedule::free_retired(QhUse which) {
    for (u32 i = 0; i < kMaxQh; ++i) {
        if (qh_[i].use != which) continue;
        write_back(i);  // the last completions before the guest may reuse the QH
        clear_qh(i);
    }
}

}  // namespace tv::usb
