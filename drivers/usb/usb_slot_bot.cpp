// Bulk-Only Transport on a slot's TRBs (usb_slot.hpp): each TRB placed by UsbStorage, data-out
// copied into the bounce and sealed at the doorbell's end, data-in and CSWs copied out.
#include <string.h>

#include "drivers/usb/usb_slot.hpp"
#include "drivers/usb/xhci_controller.hpp"

namespace tv::usb {

char const* UsbSlot::cbw(UsbCtx const& c, Trb* t) {
    if (trb_length(*t) != kCbwBytes || (t->control & kTrbChain)) return "not a CBW (one TRB of 31 bytes)";
    u8 raw[kCbwBytes];
    if (!c.g->read(Gpa{t->param}, raw, sizeof raw)) return "CBW outside guest memory";
    if (char const* why = dev_.cbw(mem(c), raw, sizeof raw)) return why;
    in_count_ = 0;
    t->param = c.small.dev.raw + kCbwOff;
    return nullptr;
}

char const* UsbSlot::bot_out(UsbCtx const& c, Trb* t, u16*) {
    if (trb_type(*t) != TrbType::Normal || (t->control & kTrbIdt)) return "not a Normal TRB with a buffer on a mass-storage endpoint";
    if (dev_.cbw_expected()) return cbw(c, t);
    u32 const len = trb_length(*t);
    Place p{};
    u32 off = 0;
    if (char const* why = dev_.out_data(mem(c), len, &p, &off)) return why;
    if (p == Place::Sink) t->param = c.sink.raw;
    if (p != Place::Bounce) return nullptr;
    bool const copied = c.g->read(Gpa{t->param}, c.bounce.virt + off, len);
    if (!copied) memset(c.bounce.virt + off, 0, len);
    t->param = c.bounce.dev.raw + off;
    if (batch_n_ == kBatchMax) return "data stage in too many pieces";
    batch_idx_[batch_n_] = static_cast<u16>(cur_idx_);
    batch_end_[batch_n_++] = off + len;
    return copied ? nullptr : "buffer outside guest memory";
}

char const* UsbSlot::bot_in(UsbCtx const& c, Trb* t, u16* tag) {
    if (trb_type(*t) != TrbType::Normal || (t->control & kTrbIdt)) return "not a Normal TRB with a buffer on a mass-storage endpoint";
    u32 const len = trb_length(*t);
    if (dev_.csw_expected()) {
        if (t->control & kTrbChain) return "not a CSW (one TRB of at most 512 bytes)";
        if (char const* why = dev_.csw_begin(mem(c), len)) return why;
        csw_guest_ = Gpa{t->param};
        csw_len_ = len;
        t->param = c.small.dev.raw + kCswOff;
        *tag = trb_tag(TrbRole::BotCsw);
        return nullptr;
    }
    Place p{};
    u32 off = 0;
    if (char const* why = dev_.in_data(len, &p, &off)) return why;
    if (p == Place::Sink) t->param = c.sink.raw;
    if (p == Place::Guest || p == Place::Sink) return nullptr;
    if (in_count_ == kMaxBotEntries) return "data stage in too many pieces";
    if (!c.g->ok(Gpa{t->param}, len)) return "buffer outside guest memory";
    u32 const rel = p == Place::Small ? off - kSmallInOff : off;  // the offset within the data stage
    in_[in_count_] = InEntry{Gpa{t->param}, rel, len};
    t->param = (p == Place::Bounce ? c.bounce.dev.raw : c.small.dev.raw) + off;
    *tag = trb_tag(TrbRole::BotIn, in_count_++);
    return nullptr;
}

void UsbSlot::batch_end(UsbCtx const& c, u8 dci, bool* unsealed, u32 count) {
    u32 const n = batch_n_;
    batch_n_ = 0;
    if (!storage_bot() || dci != endpoint_dci(dev_.bulk_out()) || !dev_.media()) return;
    dev_.seal(mem(c));
    // Bytes not sealed yet (a sector split across doorbells) never reach the device.
    for (u32 i = 0; i < n; ++i)
        if (batch_end_[i] > dev_.sealed() && batch_idx_[i] < count) unsealed[batch_idx_[i]] = true;
}

void UsbSlot::data_in_done(UsbCtx const& c, u32 got) {
    StorageMem const m = mem(c);
    u32 const give = dev_.in_finish(m, got);
    u8 const* area = dev_.in_area(m);
    for (u32 i = 0; i < in_count_ && in_[i].off < give; ++i) {
        u32 const n = in_[i].len < give - in_[i].off ? in_[i].len : give - in_[i].off;
        if (!c.g->write(in_[i].guest, area + in_[i].off, n) && c.env)
            c.env->refused("mass-storage data", "guest buffer outside guest memory");
    }
    dev_.in_clear(m);
}

void UsbSlot::csw_done(UsbCtx const& c, u32 got) {
    dev_.csw_finish(mem(c), got);
    if (!c.g->write(csw_guest_, c.small.virt + kCswOff, got) && c.env) c.env->refused("CSW", "guest buffer outside guest memory");
}

}  // namespace tv::usb
