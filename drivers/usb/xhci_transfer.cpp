// Transfer rings (xhci_controller.hpp): the guest's TRBs copied at a slot's doorbell, checked,
// and written to the endpoint's shadow ring; transfer events translated back; output contexts
// copied out to the guest.
#include <string.h>

#include "drivers/usb/xhci_controller.hpp"

namespace tv::usb {

namespace {

constexpr u32 kTdFlags = kTrbCycle | kTrbChain | kTrbIoc;

}  // namespace

// A refused TRB keeps its place and shape in its TD, so that the device (and a device model
// that trusts TD shapes) sees a well-formed transfer: a data TRB's buffer becomes the monitor's
// sink, a Setup Stage carries immediate data, any other type becomes a No Op with the guest's
// chain and IOC bits; the interrupter target becomes 0. The TD then completes as a TRB Error.
Trb XhciController::defuse(Trb t) const {
    t.status &= kTrbLengthMask;  // interrupter 0, TD size 0
    switch (trb_type(t)) {
    case TrbType::Normal:
    case TrbType::DataStage:
    case TrbType::Isoch:
        t.param = sink_dev().raw;
        t.control &= ~kTrbIdt;
        if (trb_length(t) > kMaxTrbBuffer) t.status = kMaxTrbBuffer;
        return t;
    case TrbType::SetupStage:
        t.control |= kTrbIdt;
        t.status = 8;
        return t;
    default: {
        Trb n{0, 0, t.control & kTdFlags};
        set_trb_type(n, TrbType::NoOp);
        return n;
    }
    }
}

void XhciController::write_doorbell(u32 index, u32 value) {
    ++counters_.doorbells;
    if (index == 0) {
        if (value & 0xFF) env_->refused("doorbell 0", "target other than the command ring");
        else ring_commands();
        return;
    }
    u8 const dci = static_cast<u8>(value & 0xFF);
    if (index > kMaxSlots || !slots_[index].enabled) return env_->refused("doorbell", "slot not enabled");
    if (dci < 1 || dci > kMaxDci) return env_->refused("doorbell", "target not an endpoint");
    if (value >> 16) return env_->refused("doorbell", "stream ID (streams are not offered)");
    ring_endpoint(static_cast<u8>(index), dci);
}

void XhciController::ring_endpoint(u8 slot, u8 dci) {
    u8 const r = slots_[slot].ring[dci];
    if (r == kNoRing) return env_->refused("doorbell", "endpoint has no transfer ring");
    if (char const* why = usb_[slot].endpoint_allowed(dci)) {
        ++counters_.refused;
        return env_->refused("doorbell", why);
    }
    ShadowRing& ring = rings_[r];
    u32 const room = ring.space() < kMaxTrbsPerDoorbell ? ring.space() : kMaxTrbsPerDoorbell;
    WalkResult w = ring_walk(env_->guest(), &slots_[slot].cursor[dci], copied_, room);
    bool const stalled = w.why && w.count == room;
    slots_[slot].stalled = stalled ? slots_[slot].stalled | 1u << dci : slots_[slot].stalled & ~(1u << dci);
    if (w.why && !stalled) {
        env_->refused("transfer ring", w.why);
        ++counters_.refused;
    }
    // Verdicts first: a refused TRB fails its whole TD (a control transfer: all its stages),
    // whose TRBs may come before it.
    TrbLimits const lim = limits();
    bool refused[kMaxTrbsPerDoorbell];
    u16 tags[kMaxTrbsPerDoorbell];
    bool unsealed[kMaxTrbsPerDoorbell]{};
    UsbCtx const uc = usb_ctx(slot);
    bool td_bad = slots_[slot].td_refused >> dci & 1;
    u32 td_start = 0;
    for (u32 i = 0; i < w.count; ++i) {
        char const* why = check_transfer_trb(env_->guest(), copied_[i].trb, lim);
        // The USB layer sees every TRB, refused or not: its byte counts follow the device's.
        Trb rewritten = copied_[i].trb;
        char const* uwhy = usb_[slot].transfer(uc, dci, i, &rewritten, &tags[i]);
        if (!why) why = uwhy;
        if (!why) copied_[i].trb = rewritten;
        else tags[i] = 0;
        refused[i] = why != nullptr;
        if (why) {
            env_->refused(trb_type_name(trb_type(copied_[i].trb)), why);
            ++counters_.refused;
            copied_[i].trb = defuse(copied_[i].trb);
            td_bad = true;
        }
        // A control transfer's stages are TDs of their own (Linux chains none of them), but
        // they stand or fall together: the unit ends at the Status Stage.
        TrbType const type = trb_type(copied_[i].trb);
        bool const td_ends = !(copied_[i].trb.control & kTrbChain) && type != TrbType::SetupStage &&
                             type != TrbType::DataStage;
        for (u32 j = td_start; td_bad && j <= i; ++j) refused[j] = true;
        if (td_ends) {
            td_bad = false;
            td_start = i + 1;
        }
    }
    slots_[slot].td_refused = td_bad ? slots_[slot].td_refused | 1u << dci : slots_[slot].td_refused & ~(1u << dci);
    usb_[slot].batch_end(uc, dci, unsealed, w.count);
    push_batch(ring, w.count, stalled, refused, tags, unsealed);
    if (w.count) env_->dev_write(db_ + u32{slot} * 4, 4, dci);
    hide_if_denied(slot);  // its first command (refused) still completes; then the port empties
}

// The doorbell's checked TRBs into the shadow ring. A ring the guest filled beyond the shadow's
// room: the device must tell when it has consumed what it got, even in the middle of a TD
// (Linux asks for an event only at a TD's end, and a 1 MiB transfer has more TRBs than the
// shadow ring holds). That event is the monitor's and never reaches the guest.
void XhciController::push_batch(ShadowRing& ring, u32 count, bool stalled, bool* refused, u16 const* tags,
                                bool const* unsealed) {
    bool const need_event = stalled && count && !(copied_[count - 1].trb.control & kTrbIoc);
    for (u32 i = 0; i < count; ++i) {
        bool const ioc = need_event && i + 1 == count;
        if (ioc) copied_[i].trb.control |= kTrbIoc;
        if (unsealed[i] && !refused[i]) {
            env_->refused("mass-storage data", "a sector split across doorbells (never sent unsealed)");
            ++counters_.refused;
            copied_[i].trb = defuse(copied_[i].trb);
            refused[i] = true;
        }
        ++counters_.trbs;
        (void)ring.push(copied_[i].trb, copied_[i].from, refused[i], refused[i] ? 0 : tags[i], ioc);
    }
}

u8 XhciController::ring_for(u8 slot, u8 dci) {
    u8 r = slots_[slot].ring[dci];
    if (r == kNoRing) {
        for (u32 i = 0; i < kRingPool && r == kNoRing; ++i)
            if (!ring_slot_[i]) r = static_cast<u8>(i);
        if (r == kNoRing) return r;
        ring_slot_[r] = slot;
        slots_[slot].ring[dci] = r;
    }
    rings_[r].reset();
    slots_[slot].stalled &= ~(1u << dci);
    slots_[slot].td_refused &= ~(1u << dci);
    return r;
}

void XhciController::release_rings(u8 slot, u32 mask) {
    for (u32 dci = 1; dci <= kMaxDci; ++dci) {
        u8 const r = slots_[slot].ring[dci];
        if (!(mask >> dci & 1) || r == kNoRing) continue;
        ring_slot_[r] = 0;
        slots_[slot].ring[dci] = kNoRing;
        slots_[slot].stalled &= ~(1u << dci);
    }
}

// The guest's output context gets the device's, found through the guest's DCBAA now, with
// each shadowed dequeue pointer put back into the guest's ring.
void XhciController::copy_out_context(u8 slot) {
    GuestView const& g = env_->guest();
    ContextLayout const lay = layout();
    u64 out = 0;
    if (!guest_dcbaap_ || !g.read(Gpa{(guest_dcbaap_ & ~u64{0x3F}) + u64{slot} * 8}, &out, sizeof out)) return;
    memcpy(context_copy_, slot_out(slot), lay.device_bytes());
    for (u32 dci = 1; dci <= kMaxDci; ++dci) {
        u8 const r = slots_[slot].ring[dci];
        if (r == kNoRing) continue;
        EpContext& ep = device_ep(context_copy_, lay, dci);
        RingCursor const& c = slots_[slot].cursor[dci];
        ep.set_dequeue(rings_[r].guest_of(ep.dequeue_raw(), c.next).raw, c.cycle);
    }
    if (!g.write(Gpa{out & ~u64{0x3F}}, context_copy_, lay.device_bytes()))
        env_->refused("output device context", "outside guest memory");
}

bool XhciController::translate_transfer(Trb* ev) {
    u8 const slot = trb_slot(*ev), dci = trb_endpoint(*ev);
    if (slot == 0 || slot > kMaxSlots || dci == 0 || slots_[slot].ring[dci] == kNoRing) return false;
    u8 const code = trb_completion_code(*ev);
    if (!(ev->control & kTrbEventDataFlag) && ev->param) {
        Gpa guest{0};
        bool refused = false;
        u16 tag = 0;
        bool mine = false;
        if (!rings_[slots_[slot].ring[dci]].complete(ev->param, &guest, &refused, &tag, &mine)) return false;
        ev->param = guest.raw;
        swallow_ = mine && code == static_cast<u8>(Completion::Success);
        if (refused) ev->status = (ev->status & 0x00FFFFFF) | u32{static_cast<u8>(Completion::Trb)} << 24;
        else if (tag) usb_[slot].event(usb_ctx(slot), dci, tag, ev);  // before the guest sees the event
    }
    if (code != static_cast<u8>(Completion::Success) && code != static_cast<u8>(Completion::ShortPacket))
        copy_out_context(slot);  // a halted or stopped endpoint: the guest reads its state
    return true;
}

void XhciController::set_bounce(DmaMem mem, u32 regions) {
    bounce_ = mem;
    bounce_regions_ = regions < kBounceRegions ? regions : kBounceRegions;
}

// The monitor memory a slot's USB layer works in; a storage device gets a media bounce
// while one is free.
UsbCtx XhciController::usb_ctx(u8 slot) {
    UsbCtx c{env_, &env_->guest(), slot_page(slot, 2), slot_page(slot, 3), DmaMem{nullptr, Hpa{0}}, sink_dev(), slot};
    if (!usb_[slot].storage_bot() || !usb_[slot].volume().active()) return c;  // only sealed data is bounced
    u32 region = bounce_regions_;
    for (u32 i = 0; i < bounce_regions_ && region == bounce_regions_; ++i)
        if (bounce_slot_[i] == slot) region = i;
    for (u32 i = 0; i < bounce_regions_ && region == bounce_regions_; ++i)
        if (!bounce_slot_[i]) bounce_slot_[region = i] = slot;
    if (region == bounce_regions_) return c;
    u64 const off = u64{region} * kBounceBytes;
    c.bounce = DmaMem{bounce_.virt + off, Hpa{bounce_.dev.raw + off}};
    return c;
}

// A new device (or none) in the slot: what was learnt of the old one is forgotten.
void XhciController::usb_reset(u8 slot) {
    usb_[slot].reset();
    for (u32 i = 0; i < kBounceRegions; ++i)
        if (bounce_slot_[i] == slot) bounce_slot_[i] = 0;
}

}  // namespace tv::usb
