// Context parsing and the input-context check (xhci_context.hpp), on the monitor's copies.
#include "drivers/usb/xhci_context.hpp"

namespace tv::usb {

InputControlContext const& input_control(u8 const* ctx) { return *reinterpret_cast<InputControlContext const*>(ctx); }
SlotContext& input_slot(u8* ctx, ContextLayout layout) {
    return *reinterpret_cast<SlotContext*>(ctx + layout.input_offset(0));
}
EpContext& input_ep(u8* ctx, ContextLayout layout, u32 dci) {
    return *reinterpret_cast<EpContext*>(ctx + layout.input_offset(dci));
}
EpContext const& input_ep(u8 const* ctx, ContextLayout layout, u32 dci) {
    return *reinterpret_cast<EpContext const*>(ctx + layout.input_offset(dci));
}
SlotContext const& device_slot(u8 const* ctx) { return *reinterpret_cast<SlotContext const*>(ctx); }
EpContext const& device_ep(u8 const* ctx, ContextLayout layout, u32 dci) {
    return *reinterpret_cast<EpContext const*>(ctx + layout.device_offset(dci));
}
EpContext& device_ep(u8* ctx, ContextLayout layout, u32 dci) {
    return *reinterpret_cast<EpContext*>(ctx + layout.device_offset(dci));
}

namespace {

char const* check_ring_of(GuestView const& g, EpContext const& ep) {
    if (ep.max_pstreams()) return "endpoint with streams (not mediated)";
    if (ep.type() == EpType::NotValid) return "endpoint type not valid";
    if (ep.dequeue_raw() & 0xE) return "dequeue pointer not 16-byte aligned";
    return g.ok(ep.dequeue(), sizeof(u64) * 2) ? nullptr : "transfer ring outside guest memory";
}

constexpr u32 kA0 = 1u << 0, kA1 = 1u << 1;

}  // namespace

char const* check_input_context(GuestView const& g, u8 const* ctx, ContextLayout layout, InputUse use,
                                u32 interrupters, u32* adds) {
    InputControlContext const& icc = input_control(ctx);
    *adds = icc.add;
    if (icc.drop & 3) return "drop flags D0/D1 set";
    switch (use) {
    case InputUse::AddressDevice:
        if (icc.add != (kA0 | kA1)) return "Address Device must add exactly the slot and endpoint 0";
        break;
    case InputUse::EvaluateContext:
        if (icc.add & ~(kA0 | kA1)) return "Evaluate Context adds endpoints beyond endpoint 0";
        break;
    case InputUse::ConfigureEndpoint:
        if (icc.add & kA1) return "Configure Endpoint adds endpoint 0";
        break;
    }
    if (icc.add & kA0) {
        SlotContext const& slot = *reinterpret_cast<SlotContext const*>(ctx + layout.input_offset(0));
        if (slot.interrupter() >= interrupters) return "slot context targets an interrupter not mediated";
    }
    if (use == InputUse::EvaluateContext) return nullptr;  // no dequeue pointer is read
    for (u32 dci = 1; dci <= kMaxDci; ++dci) {
        if (!(icc.add >> dci & 1)) continue;
        if (char const* why = check_ring_of(g, input_ep(ctx, layout, dci))) return why;
    }
    return nullptr;
}

}  // namespace tv::usb
