// The control side of a device on the mass-storage path (usb_storage.hpp): descriptors parsed
// from the monitor's copy, the requests that would change what was recognized refused.
#include <string.h>

#include "drivers/usb/usb_storage.hpp"

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

void UsbStorage::reset() {
    id_ = UsbIdentity{};
    cfg_ = ConfigInfo{};
    device_seen_ = serial_seen_ = cfg_seen_ = reid_ = false;
    setup_ = 0;
    desc_pending_ = false;
    classified_ = listed_ = identity_ok_ = false;
    rule_ = UsbRule::Allow;
    volume_.detach();
    sense_pending_ = false;
    reset_bot();
}

void UsbStorage::readdressed() {
    if (!device_seen_) return reset();
    prev_ = id_;
    device_seen_ = serial_seen_ = false;
    reid_ = true;
    reset_bot();
}

// Another device than the one followed: everything but what was just read of it is forgotten.
void UsbStorage::identity_changed() {
    UsbIdentity const id = id_;
    bool const dev = device_seen_, serial = serial_seen_;
    reset();
    id_ = id;
    device_seen_ = dev;
    serial_seen_ = serial;
}

void UsbStorage::check_identity() {
    if (!reid_ || !device_seen_) return;
    if (id_.vendor != prev_.vendor || id_.product != prev_.product || id_.serial_index != prev_.serial_index ||
        (serial_seen_ && strcmp(id_.serial, prev_.serial) != 0))
        return identity_changed();
    if (id_.serial_index == 0 || serial_seen_) reid_ = false;  // the same device: its volume stays
}

char const* UsbStorage::endpoints_allowed() const {
    if (reid_) return "endpoint of a device given a new address whose identity was not read again";
    if (!cfg_seen_) return "endpoint of a device whose configuration the monitor has not seen";
    if (cfg_.storage && !cfg_.bot) return "mass storage other than one Bulk-Only interface (UAS, CBI)";
    return nullptr;
}

char const* UsbStorage::setup(u64 s) {
    setup_ = s;
    desc_pending_ = false;
    u8 const rt = request_type(s), rq = request(s);
    u16 const v = value(s);
    if (rt == 0x00 && rq == kSetConfiguration && (v & 0xFF) && (!cfg_seen_ || (v & 0xFF) != cfg_.value))
        return "SET_CONFIGURATION of a configuration the monitor has not seen";
    if (rt == 0x01 && rq == kSetInterface && v != 0 && cfg_seen_ && cfg_.alternates)
        return "SET_INTERFACE to a mass-storage alternate setting (UAS is not offered)";
    if (rt == 0x21 && rq == kMassStorageReset) reset_bot();
    return nullptr;
}

bool UsbStorage::descriptor_wanted(bool in) const { return is_get_descriptor(setup_) && in && !desc_pending_; }

char const* UsbStorage::descriptor_begin(u32 len) {
    if (len > kPageSize || len != length(setup_)) return "descriptor request the monitor cannot bounce";
    desc_len_ = len;
    desc_pending_ = true;
    return nullptr;
}

void UsbStorage::descriptor_arrived(StorageMem const& m, u32 got) {
    desc_pending_ = false;
    u8 const* d = m.desc.virt;
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
    check_identity();
}

}  // namespace tv::usb
