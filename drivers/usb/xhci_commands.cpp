// The command ring (xhci_controller.hpp): the guest's commands copied at doorbell 0, checked,
// their pointers replaced by the monitor's copies, and their completions translated back.
#include "drivers/usb/xhci_controller.hpp"

namespace tv::usb {

namespace {

Trb no_op_command(Trb const& refused) {
    Trb t{0, 0, refused.control & kTrbCycle};
    set_trb_type(t, TrbType::NoOpCommand);
    return t;
}

}  // namespace

void XhciController::ring_commands() {
    ++counters_.command_doorbells;
    if (!command_cursor_set_) {
        env_->refused("command doorbell", "no command ring programmed");
        return;
    }
    u32 const room = commands_.space() < kMaxTrbsPerDoorbell ? commands_.space() : kMaxTrbsPerDoorbell;
    WalkResult r = ring_walk(env_->guest(), &command_cursor_, copied_, room);
    commands_stalled_ = r.why && r.count == room;
    if (r.why && !commands_stalled_) {
        env_->refused("command ring", r.why);
        ++counters_.refused;
    }
    for (u32 i = 0; i < r.count; ++i) {
        Trb t = copied_[i].trb;
        char const* why = shadow_command(&t);
        if (why) {
            env_->refused(trb_type_name(trb_type(copied_[i].trb)), why);
            ++counters_.refused;
            t = no_op_command(t);
        }
        ++counters_.commands;
        (void)commands_.push(t, copied_[i].from, why != nullptr);  // room was counted above
    }
    if (r.count) env_->dev_write(db_, 4, 0);
}

char const* XhciController::shadow_command(Trb* t) {
    CommandCheck c = check_command_trb(env_->guest(), *t, limits());
    if (c.why) return c.why;
    if (c.kind == CommandKind::Dequeue) return shadow_dequeue(t);
    if (c.kind != CommandKind::InputContext) return nullptr;
    switch (trb_type(*t)) {
    case TrbType::AddressDevice: return shadow_input_context(t, InputUse::AddressDevice);
    case TrbType::ConfigureEndpoint: return shadow_input_context(t, InputUse::ConfigureEndpoint);
    default: return shadow_input_context(t, InputUse::EvaluateContext);
    }
}

// The input context is copied into the slot's monitor page and checked there; each endpoint it
// adds gets a fresh shadow ring, and the guest's ring position is kept as that ring's cursor.
char const* XhciController::shadow_input_context(Trb* t, InputUse use) {
    u8 const s = trb_slot(*t);
    ContextLayout const lay = layout();
    u8* copy = slot_in(s);
    if (!env_->guest().read(Gpa{t->param}, copy, lay.input_bytes())) return "input context outside guest memory";
    u32 adds = 0;
    if (char const* why = check_input_context(env_->guest(), copy, lay, use, 1, &adds)) return why;
    // A port the guest reads as empty is not the guest's: the device there is never addressed
    // by it. Blocking the port's reset is not enough: QEMU 7.2 addresses (and resets) a device
    // on a port nobody enabled.
    if (use == InputUse::AddressDevice && port_hidden(input_slot(copy, lay).root_port()))
        return "the device's root port is not the guest's";
    if (use != InputUse::EvaluateContext) {
        u32 const drops = input_control(copy).drop & ~adds;
        release_rings(s, drops);
        for (u32 dci = 1; dci <= kMaxDci; ++dci) {
            if (!(adds >> dci & 1)) continue;
            u8 const r = ring_for(s, static_cast<u8>(dci));
            if (r == kNoRing) return "no shadow transfer ring left";
            EpContext& ep = input_ep(copy, lay, dci);
            slots_[s].cursor[dci] = RingCursor{ep.dequeue(), ep.dcs()};
            ep.set_dequeue(rings_[r].producer().raw, rings_[r].cycle());
        }
    }
    t->param = slot_in_dev(s).raw;
    return nullptr;
}

// The endpoint is stopped: the guest's ring continues at its new pointer, the device's at the
// shadow ring's producer, where the next TRBs copied from there will go.
char const* XhciController::shadow_dequeue(Trb* t) {
    u8 const s = trb_slot(*t), dci = trb_endpoint(*t);
    u8 const r = slots_[s].ring[dci];
    if (r == kNoRing) return "no transfer ring on that endpoint";
    slots_[s].cursor[dci] = RingCursor{Gpa{t->param & kTrbPointerMask}, (t->param & 1) != 0};
    rings_[r].forget_pending();
    t->param = rings_[r].producer().raw | (rings_[r].cycle() ? 1 : 0);
    return nullptr;
}

void XhciController::command_completed(Trb* ev) {
    Gpa guest{0};
    bool refused = false;
    u64 const shadow = ev->param;
    if (!commands_.complete(shadow, &guest, &refused)) {
        env_->note("command completion for no shadow command TRB; dropped");
        return;
    }
    ev->param = guest.raw;
    if (refused) {
        ev->status = (ev->status & 0x00FFFFFF) | u32{static_cast<u8>(Completion::Trb)} << 24;
        return;
    }
    // What the device ran: the shadow TRB itself (the guest's may have changed since).
    Trb const& ran = *reinterpret_cast<Trb const*>(dma_.virt + (shadow - dma_.dev.raw));
    bool const success = trb_completion_code(*ev) == static_cast<u8>(Completion::Success);
    u8 const s = trb_type(ran) == TrbType::EnableSlot ? trb_slot(*ev) : trb_slot(ran);
    if (s == 0 || s > kMaxSlots) return;
    switch (trb_type(ran)) {
    case TrbType::EnableSlot:
        if (success) {
            release_rings(s, ~0u);
            slots_[s].enabled = true;
            usb_reset(s);
        }
        return;
    case TrbType::DisableSlot:
        release_rings(s, ~0u);
        slots_[s].enabled = false;
        usb_reset(s);
        return;
    case TrbType::ResetDevice:
        release_rings(s, ~0u << 2);  // every endpoint but the default control endpoint
        usb_reset(s);
        copy_out_context(s);
        return;
    case TrbType::AddressDevice:
        usb_[s].reset_bot();
        copy_out_context(s);
        return;
    case TrbType::ConfigureEndpoint:
    case TrbType::EvaluateContext:
    case TrbType::ResetEndpoint:
    case TrbType::StopEndpoint:
    case TrbType::SetTrDequeue:
        copy_out_context(s);
        return;
    default:
        return;
    }
}

}  // namespace tv::usb
