// The shadow of the EHCI periodic schedule (ehci_periodic.hpp): the frame list mirrored, the
// tree behind it translated node by node, retirement of the QHs that left it.
#include "drivers/usb/ehci_periodic.hpp"

#include <string.h>

#include "drivers/usb/ehci_dma.hpp"

namespace tv::usb {

namespace {

// The controller may hold a QH for the frame it read it in; two frames later it is done.
constexpr u32 kRetireMicroframes = 16;

constexpr u32 memo_hash(u32 key) { return ((key >> 1) * 2654435761u) >> 24; }  // 8 bits

// A link as the key of what it leads to: the address and the type (the reserved bits 4:3
// would otherwise make one QH two nodes).
constexpr u32 node_key(u32 link) { return link & (kLinkMask | 6u); }

}  // namespace

bool EhciPeriodic::init(EhciEnv* env, DmaMem mem, u32 op) {
    env_ = env;
    op_ = op;
    if (!mem.virt || mem.dev.raw + u64{kPages} * kPageSize > (u64{1} << 32)) return false;
    if (!pool_.init(env, mem)) return false;
    list_ = reinterpret_cast<u32*>(mem.virt + EhciSchedule::kPages * kPageSize);
    list_dev_ = static_cast<u32>(mem.dev.raw) + EhciSchedule::kPages * static_cast<u32>(kPageSize);
    prog_list_ = (env->dev_read(kHccParams, 4) & kHccProgFrameList) != 0;
    reset();
    return true;
}

void EhciPeriodic::reset() {
    if (!list_) return;
    for (u32 k = 0; k < kFrameListEntries; ++k) dev_store(&list_[k], kLinkTerminate);
    pool_.reset();
    guest_base_ = 0;
    retiring_ = 0;
    roots_ok_ = false;
}

void EhciPeriodic::refuse(char const* why) {
    ++counters_.refused;
    env_->refused("periodic schedule", why);
}

void EhciPeriodic::sync(u32 cmd) {
    if (!list_) return;
    pool_.pool_begin("periodic schedule");
    if (!(cmd & kCmdPeriodic)) {  // the shadows stay as they are until the guest enables it again
        retire();
        return;
    }
    ++counters_.syncs;
    mirror(entries(cmd));
    u64 const left = pool_.pool_end();
    if (left) {
        u32 const now = env_->dev_read(op_ + op(EhciOp::FrIndex), 4) & kFrIndexMask;
        for (u32 i = 0; i < EhciSchedule::kMaxQh; ++i)
            if (left & (u64{1} << i)) left_at_[i] = now;
        retiring_ |= left;
    }
    retire();
}

// How many entries the guest's list has: 1024 unless the controller lets the size be chosen.
u32 EhciPeriodic::entries(u32 cmd) {
    if (!prog_list_) return kFrameListEntries;
    u32 const size = cmd_frame_list_size(cmd);
    if (size == 3) {
        refuse("the reserved frame list size");
        return 0;
    }
    return kFrameListEntries >> size;
}

// The guest's n entries copied and translated into the controller's list; the rest (and all
// of it when the copy fails) terminated. An entry is written only when it changes.
void EhciPeriodic::mirror(u32 n) {
    if (++gen_ == 0) {  // the memo's stamps wrapped: none may look current
        memset(memo_, 0, sizeof memo_);
        gen_ = 1;
    }
    nodes_ = 0;
    bool ok = n != 0;
    if (ok && !env_->guest().read(Gpa{guest_base_}, glist_, n * sizeof(u32))) {
        refuse("frame list outside guest memory");
        ok = false;
    }
    if (ok && unchanged(n)) return;
    nroots_ = 0;
    roots_ok_ = ok;
    for (u32 k = 0; k < kFrameListEntries; ++k) {
        u32 const d = ok && k < n ? translate(glist_[k]) : kLinkTerminate;
        if (ok && k < n && (k == 0 || glist_[k] != glist_[k - 1])) note_root(glist_[k], d);
        if (dev_load(&list_[k]) != d) dev_store(&list_[k], d);
    }
    if (ok) memcpy(last_, glist_, n * sizeof(u32));
    last_n_ = ok ? n : 0;
}

// The quick sync: the same list as last time, and each of its distinct entries (their chains
// walked, their QHs refreshed) still translating as then, so no entry changes.
bool EhciPeriodic::unchanged(u32 n) {
    if (!roots_ok_ || n != last_n_ || memcmp(glist_, last_, n * sizeof(u32)) != 0) return false;
    bool same = true;
    for (u32 r = 0; r < nroots_; ++r) same = translate(roots_[r]) == root_dev_[r] && same;
    return same;
}

void EhciPeriodic::note_root(u32 link, u32 dev) {
    if (!roots_ok_ || (link & kLinkTerminate)) return;
    for (u32 r = 0; r < nroots_; ++r)
        if (roots_[r] == link) return;
    if (nroots_ == kMaxRoots) {
        roots_ok_ = false;  // too many: every sync translates the whole list
        return;
    }
    roots_[nroots_] = link;
    root_dev_[nroots_++] = dev;
}

// What the controller is given for a guest link: the chain from it is followed up to a node
// already translated in this sync (or the end), then finished from its end back, so every node
// links only to shadows already complete. A loop or an overlong chain is cut with a refusal.
u32 EhciPeriodic::translate(u32 link) {
    if (link & kLinkTerminate) return kLinkTerminate;
    u32 end = kLinkTerminate;
    u32 n = 0;
    for (u32 at = node_key(link);;) {
        if (memo_find(at, &end)) break;
        bool loop = false;
        for (u32 k = 0; k < n && !loop; ++k) loop = chain_[k] == at;
        if (loop) {
            refuse("a loop in the periodic schedule");
            break;
        }
        if (n == kMaxChain || nodes_ == kMaxNodes) {
            refuse("more periodic schedule entries than the shadow follows");
            break;
        }
        u32 next = kLinkTerminate;
        if (!follow(at, n, &next)) break;
        chain_[n++] = at;
        ++nodes_;
        if (next & kLinkTerminate) break;
        at = node_key(next);
    }
    for (u32 k = n; k-- > 0;) {
        end = finish(chain_[k], k, end);
        memo_add(chain_[k], end);
    }
    return end;
}

// The node at `at` read (a QH whole into copies_[k], another type only its next link): the
// link that follows it. False when it is outside guest memory (refused).
bool EhciPeriodic::follow(u32 at, u32 k, u32* next) {
    GuestView const& g = env_->guest();
    Gpa const where{at & kLinkMask};
    if (link_type(at) == LinkType::Qh) {
        if (!g.read(where, &copies_[k], sizeof(Qh))) {
            refuse("queue head outside guest memory");
            return false;
        }
        *next = copies_[k].hlink;
        return true;
    }
    if (!g.read(where, next, sizeof *next)) {
        refuse("isochronous descriptor or FSTN outside guest memory");
        return false;
    }
    ++counters_.skipped;
    switch (link_type(at)) {
        case LinkType::Itd: env_->refused("periodic schedule", "iTD (isochronous) not shadowed: skipped"); break;
        case LinkType::Sitd: env_->refused("periodic schedule", "siTD (split isochronous) not shadowed: skipped"); break;
        default: env_->refused("periodic schedule", "FSTN not shadowed: skipped to its normal path"); break;
    }
    return true;
}

// The controller's link for the node at `at`, whose successor the controller reaches as
// next_dev: a QH's shadow (linked to next_dev first), or for anything else next_dev itself.
u32 EhciPeriodic::finish(u32 at, u32 k, u32 next_dev) {
    if (link_type(at) != LinkType::Qh) return next_dev;
    u32 const i = pool_.pool_take(at & kLinkMask, copies_[k]);
    if (i == EhciSchedule::kMaxQh) return next_dev;  // no room (refused): its successors still run
    pool_.pool_link(i, next_dev);
    return qh_link(pool_.pool_dev(i));
}

bool EhciPeriodic::memo_find(u32 key, u32* dev) const {
    for (u32 h = memo_hash(key), n = 0; n < kMemoSize; h = (h + 1) & (kMemoSize - 1), ++n) {
        Memo const& m = memo_[h];
        if (m.gen != gen_) return false;
        if (m.key == key) {
            *dev = m.dev;
            return true;
        }
    }
    return false;
}

void EhciPeriodic::memo_add(u32 key, u32 dev) {
    // Never full: at most kMaxNodes entries in kMemoSize slots.
    u32 h = memo_hash(key);
    while (memo_[h].gen == gen_) h = (h + 1) & (kMemoSize - 1);
    memo_[h] = Memo{key, dev, gen_};
}

// Retiring QHs the controller can no longer be in (two frames since they left, or its
// periodic schedule stopped) are written back and freed; a QH the guest linked again is not.
void EhciPeriodic::retire() {
    for (u32 i = 0; i < EhciSchedule::kMaxQh; ++i)
        if ((retiring_ & (u64{1} << i)) && !pool_.pool_retiring(i)) retiring_ &= ~(u64{1} << i);
    if (!retiring_) return;
    u32 const sts = env_->dev_read(op_ + op(EhciOp::UsbSts), 4);
    bool const idle = (sts & kStsHalted) || !(sts & kStsPeriodic);
    u32 const now = env_->dev_read(op_ + op(EhciOp::FrIndex), 4) & kFrIndexMask;
    for (u32 i = 0; i < EhciSchedule::kMaxQh; ++i) {
        if (!(retiring_ & (u64{1} << i))) continue;
        if (!idle && ((now - left_at_[i]) & kFrIndexMask) < kRetireMicroframes) continue;
        pool_.pool_free(i);
        retiring_ &= ~(u64{1} << i);
    }
}

}  // namespace tv::usb
