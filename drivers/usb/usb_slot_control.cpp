// The control endpoint of a slot (usb_slot.hpp): descriptors bounced and given to UsbStorage,
// the requests it refuses, and the slot's dispatch.
#include <stdio.h>
#include <string.h>

#include "drivers/usb/usb_slot.hpp"
#include "drivers/usb/xhci_controller.hpp"

namespace tv::usb {

StorageMem UsbSlot::mem(UsbCtx const& c) const { return StorageMem{c.env, c.g, c.desc, c.small, c.bounce, who_}; }

void UsbSlot::reset() {
    dev_.reset();
    desc_guest_ = Gpa{0};
    reset_bot();
}

void UsbSlot::reset_bot() {
    dev_.reset_bot();
    in_count_ = batch_n_ = 0;
    csw_len_ = 0;
}

char const* UsbSlot::endpoint_allowed(u8 dci) const { return dci <= 1 ? nullptr : dev_.endpoints_allowed(); }

char const* UsbSlot::transfer(UsbCtx const& c, u8 dci, u32 index, Trb* t, u16* tag) {
    *tag = 0;
    cur_idx_ = index;
    snprintf(who_, sizeof who_, "usb slot %u", c.slot);
    if (dci == 1) return control(c, t, tag);
    if (!storage_bot()) return nullptr;
    if (dci == endpoint_dci(dev_.bulk_out())) return bot_out(c, t, tag);
    if (dci == endpoint_dci(dev_.bulk_in())) return bot_in(c, t, tag);
    return nullptr;
}

char const* UsbSlot::control(UsbCtx const& c, Trb* t, u16* tag) {
    switch (trb_type(*t)) {
    case TrbType::SetupStage: return dev_.setup(t->param);
    case TrbType::DataStage: {
        if (!dev_.descriptor_wanted((t->control & kTrbDirIn) != 0)) return nullptr;
        if (char const* why = dev_.descriptor_begin(trb_length(*t))) return why;
        memset(c.desc.virt, 0, kPageSize);
        desc_guest_ = Gpa{t->param};
        t->param = c.desc.dev.raw;
        *tag = trb_tag(TrbRole::DescData);
        return nullptr;
    }
    case TrbType::StatusStage:
        if (dev_.descriptor_pending()) *tag = trb_tag(TrbRole::DescStatus);
        return nullptr;
    default:
        return nullptr;
    }
}

// The Data Stage completed (short: `got` bytes) or the Status Stage did (all of it).
void UsbSlot::control_event(UsbCtx const& c, TrbRole role, Trb const& ev) {
    if (!dev_.descriptor_pending()) return;
    u8 const code = trb_completion_code(ev);
    bool const short_packet = code == static_cast<u8>(Completion::ShortPacket);
    if (code != static_cast<u8>(Completion::Success) && !short_packet) {
        dev_.descriptor_failed();  // the device failed it: nothing to learn, nothing to copy
        return;
    }
    u32 const len = dev_.descriptor_len();
    if (role != TrbRole::DescData) return descriptor_arrived(c, len);
    u32 const residue = trb_length(ev) < len ? trb_length(ev) : len;
    descriptor_arrived(c, len - residue);
}

void UsbSlot::descriptor_arrived(UsbCtx const& c, u32 got) {
    dev_.descriptor_arrived(mem(c), got);
    if (!c.g->write(desc_guest_, c.desc.virt, got) && c.env) c.env->refused("descriptor", "guest buffer outside guest memory");
}

void UsbSlot::event(UsbCtx const& c, u8 dci, u16 tag, Trb* ev) {
    TrbRole const role = tag_role(tag);
    if (dci == 1) return control_event(c, role, *ev);
    u8 const code = trb_completion_code(*ev);
    bool const short_packet = code == static_cast<u8>(Completion::ShortPacket);
    bool const good = code == static_cast<u8>(Completion::Success) || short_packet;
    if (role == TrbRole::BotIn) {
        if (dev_.in_over() || tag_index(tag) >= in_count_) return;
        InEntry const& e = in_[tag_index(tag)];
        bool const last = e.off + e.len >= dev_.in_placed() && !dev_.in_pending_data();
        if (!good) {
            dev_.in_failed();  // a failed data stage: nothing reaches the guest
            return;
        }
        if (!short_packet && !last) return;
        u32 const residue = trb_length(*ev) < e.len ? trb_length(*ev) : e.len;
        data_in_done(c, e.off + e.len - (short_packet ? residue : 0));
    } else if (role == TrbRole::BotCsw) {
        if (!good) return;
        u32 const residue = trb_length(*ev) < csw_len_ ? trb_length(*ev) : csw_len_;
        csw_done(c, csw_len_ - residue);
    }
}

}  // namespace tv::usb
