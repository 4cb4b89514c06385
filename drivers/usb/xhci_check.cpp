// TRB checks (xhci_check.hpp): one decision per type, on the monitor's copy.
#include "drivers/usb/xhci_check.hpp"

namespace tv::usb {

namespace {

// A data buffer: immediate data stays in the TRB; anything else is guest memory whole.
char const* check_buffer(GuestView const& g, Trb const& t) {
    u32 const len = trb_length(t);
    if (t.control & kTrbIdt) return len <= kMaxImmediate ? nullptr : "immediate data longer than 8 bytes";
    if (len > kMaxTrbBuffer) return "buffer longer than 64 KiB";
    if (len == 0) return nullptr;  // nothing moves; the pointer is never used
    return g.ok(Gpa{t.param}, len) ? nullptr : "buffer outside guest memory";
}

char const* check_slot(Trb const& t, TrbLimits const& lim) {
    u8 const s = trb_slot(t);
    return s >= 1 && s <= lim.max_slots ? nullptr : "slot ID out of range";
}

char const* check_input_context(GuestView const& g, Trb const& t, TrbLimits const& lim) {
    if (char const* why = check_slot(t, lim)) return why;
    if (t.param & ~kTrbPointerMask) return "input context not 16-byte aligned";
    return g.ok(Gpa{t.param}, lim.input_context_bytes) ? nullptr : "input context outside guest memory";
}

char const* check_endpoint(Trb const& t, TrbLimits const& lim) {
    if (char const* why = check_slot(t, lim)) return why;
    return trb_endpoint(t) >= 1 ? nullptr : "endpoint ID 0";
}

}  // namespace

char const* check_transfer_trb(GuestView const& g, Trb const& t, TrbLimits const& lim) {
    if (trb_interrupter(t) >= lim.interrupters) return "interrupter target not mediated";
    switch (trb_type(t)) {
    case TrbType::Normal:
    case TrbType::DataStage:
    case TrbType::Isoch:
        return check_buffer(g, t);
    case TrbType::SetupStage:
        return (t.control & kTrbIdt) && trb_length(t) == 8 ? nullptr : "setup stage without its 8 immediate bytes";
    case TrbType::StatusStage:
    case TrbType::EventData:
    case TrbType::NoOp:
        return nullptr;
    default:
        return "TRB type not allowed on a transfer ring";
    }
}

CommandCheck check_command_trb(GuestView const& g, Trb const& t, TrbLimits const& lim) {
    CommandCheck c;
    switch (trb_type(t)) {
    case TrbType::EnableSlot:
    case TrbType::NoOpCommand:
    case TrbType::NegotiateBandwidth:
    case TrbType::SetLatencyTolerance:
        break;
    case TrbType::DisableSlot:
    case TrbType::ResetDevice:
        c.why = check_slot(t, lim);
        break;
    case TrbType::AddressDevice:
    case TrbType::EvaluateContext:
        c.why = check_input_context(g, t, lim);
        c.kind = CommandKind::InputContext;
        break;
    case TrbType::ConfigureEndpoint:
        if (t.control & kTrbDeconfigure) {
            c.why = check_slot(t, lim);  // no input context is read
        } else {
            c.why = check_input_context(g, t, lim);
            c.kind = CommandKind::InputContext;
        }
        break;
    case TrbType::ResetEndpoint:
    case TrbType::StopEndpoint:
        c.why = check_endpoint(t, lim);
        break;
    case TrbType::SetTrDequeue:
        c.why = check_endpoint(t, lim);
        if (!c.why && (t.param & 0xE)) c.why = "stream context type set (streams are not mediated)";
        if (!c.why && !g.ok(Gpa{t.param & kTrbPointerMask}, kTrbBytes)) c.why = "dequeue pointer outside guest memory";
        c.kind = CommandKind::Dequeue;
        break;
    default:
        c.why = "command not allowed";
        break;
    }
    return c;
}

}  // namespace tv::usb
