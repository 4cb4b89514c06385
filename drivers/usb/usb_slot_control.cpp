// The control endpoint of a slot (usb_slot.hpp): descriptors bounced and parsed, the requests
// that would change what the mediator recognized refused, and the slot's dispatch.
#include <stdio.h>
#include <string.h>

#include "drivers/usb/usb_slot.hpp"
#include "drivers/usb/xhci_controller.hpp"

namespace tv::usb {

namespace {

constexpr u8 kGetDescriptor = 6, kSetConfiguration = 9, kSetInterface = 11, kMassStorageReset = 0xFF;
constexpr u8 kDescDevice = 1, kDescConfig = 2, kDescString = 3;

u8 request_type(u64 setup) { return static_cast<u8>(setup); }
u8 request(u64 setup) { return static_cast<u8>(setup >> 8); }
u16 value(u64 setup) { return static_cast<u16>(setup >> 16); }
u16 length(u64 setup) { return static_cast<u16>(setup >> 48); }

bool is_get_descriptor(u64 setup) {
    u8 const type = static_cast<u8>(value(setup) >> 8);
    return request_type(setup) == 0x80 && request(setup) == kGetDescriptor &&
           (type == kDescDevice || type == kDescConfig || type == kDescString);
}

}  // namespace

char const* usb_rule_name(UsbRule r) {
    switch (r) {
    case UsbRule::Allow: return "allow";
    case UsbRule::Encrypt: return "encrypt";
    case UsbRule::ReadOnly: return "read-only";
    case UsbRule::Deny: return "deny";
    }
    return "?";
}

void UsbSlot::reset() {
    id_ = UsbIdentity{};
    cfg_ = ConfigInfo{};
    device_seen_ = serial_seen_ = cfg_seen_ = false;
    setup_ = 0;
    desc_pending_ = false;
    classified_ = listed_ = identity_ok_ = bounce_wanted_ = false;
    rule_ = UsbRule::Allow;
    volume_.detach();
    sense_pending_ = false;
    reset_bot();
}

char const* UsbSlot::endpoint_allowed(u8 dci) const {
    if (dci <= 1) return nullptr;
    if (!cfg_seen_) return "endpoint of a device whose configuration the monitor has not seen";
    if (cfg_.storage && !cfg_.bot) return "mass storage other than one Bulk-Only interface (UAS, CBI)";
    return nullptr;
}

char const* UsbSlot::transfer(UsbCtx const& c, u8 dci, u32 index, Trb* t, u16* tag) {
    *tag = 0;
    cur_idx_ = index;
    if (dci == 1) return control(c, t, tag);
    if (!storage_bot()) return nullptr;
    if (dci == endpoint_dci(cfg_.bulk_out)) return bot_out(c, t, tag);
    if (dci == endpoint_dci(cfg_.bulk_in)) return bot_in(c, t, tag);
    return nullptr;
}

char const* UsbSlot::control(UsbCtx const& c, Trb* t, u16* tag) {
    switch (trb_type(*t)) {
    case TrbType::SetupStage: {
        setup_ = t->param;
        desc_pending_ = false;
        u8 const rt = request_type(setup_), rq = request(setup_);
        u16 const v = value(setup_);
        if (rt == 0x00 && rq == kSetConfiguration && (v & 0xFF) && (!cfg_seen_ || (v & 0xFF) != cfg_.value))
            return "SET_CONFIGURATION of a configuration the monitor has not seen";
        if (rt == 0x01 && rq == kSetInterface && v != 0 && cfg_seen_ && cfg_.alternates)
            return "SET_INTERFACE to a mass-storage alternate setting (UAS is not offered)";
        if (rt == 0x21 && rq == kMassStorageReset) reset_bot();
        return nullptr;
    }
    case TrbType::DataStage: {
        if (!is_get_descriptor(setup_) || !(t->control & kTrbDirIn) || desc_pending_) return nullptr;
        u32 const len = trb_length(*t);
        if (len > kPageSize || len != length(setup_)) return "descriptor request the monitor cannot bounce";
        memset(c.desc.virt, 0, kPageSize);
        desc_guest_ = Gpa{t->param};
        desc_len_ = len;
        desc_pending_ = true;
        t->param = c.desc.dev.raw;
        *tag = trb_tag(TrbRole::DescData);
        return nullptr;
    }
    case TrbType::StatusStage:
        if (desc_pending_) *tag = trb_tag(TrbRole::DescStatus);
        return nullptr;
    default:
        return nullptr;
    }
}

// The Data Stage completed (short: `got` bytes) or the Status Stage did (all of it).
void UsbSlot::control_event(UsbCtx const& c, TrbRole role, Trb const& ev) {
    if (!desc_pending_) return;
    u8 const code = trb_completion_code(ev);
    bool const short_packet = code == static_cast<u8>(Completion::ShortPacket);
    if (code != static_cast<u8>(Completion::Success) && !short_packet) {
        desc_pending_ = false;  // the device failed it: nothing to learn, nothing to copy
        return;
    }
    if (role != TrbRole::DescData) return descriptor_arrived(c, desc_len_);
    u32 const residue = trb_length(ev) < desc_len_ ? trb_length(ev) : desc_len_;
    descriptor_arrived(c, desc_len_ - residue);
}

void UsbSlot::descriptor_arrived(UsbCtx const& c, u32 got) {
    desc_pending_ = false;
    u8 const* d = c.desc.virt;
    u8 const type = static_cast<u8>(value(setup_) >> 8), index = static_cast<u8>(value(setup_));
    if (type == kDescDevice && got >= kDeviceDescriptorBytes) {
        UsbIdentity n{};
        if (!parse_device_descriptor(d, got, &n)) {
            // The serial read before stays the device's only while the device stays the same.
            if (!device_seen_ || n.vendor != id_.vendor || n.product != id_.product || n.serial_index != id_.serial_index)
                serial_seen_ = false;
            if (serial_seen_) memcpy(n.serial, id_.serial, sizeof n.serial);
            id_ = n;
            device_seen_ = true;
        }
    } else if (type == kDescConfig && index == 0) {
        ConfigInfo ci{};
        if (!parse_config_descriptor(d, got, &ci)) {
            cfg_ = ci;
            cfg_seen_ = true;
        }
    } else if (type == kDescString && device_seen_ && index && index == id_.serial_index) {
        if (!parse_serial_string(d, got, &id_)) serial_seen_ = true;
    }
    if (!c.g->write(desc_guest_, d, got) && c.env) c.env->refused("descriptor", "guest buffer outside guest memory");
}

void UsbSlot::event(UsbCtx const& c, u8 dci, u16 tag, Trb* ev) {
    TrbRole const role = tag_role(tag);
    if (dci == 1) return control_event(c, role, *ev);
    u8 const code = trb_completion_code(*ev);
    bool const short_packet = code == static_cast<u8>(Completion::ShortPacket);
    bool const good = code == static_cast<u8>(Completion::Success) || short_packet;
    if (role == TrbRole::BotIn) {
        if (in_done_ || tag_index(tag) >= in_count_) return;
        InEntry const& e = in_[tag_index(tag)];
        bool const last = e.off + e.len >= in_off_ && in_left_ == 0;
        if (!good) {
            in_done_ = true;  // a failed data stage: nothing reaches the guest
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
