// Device and string descriptors (usb_identity.hpp).
#include "drivers/usb/usb_identity.hpp"

namespace tv::usb {

namespace {
constexpr u8 kTypeDevice = 1, kTypeConfig = 2, kTypeString = 3, kTypeInterface = 4, kTypeEndpoint = 5;
constexpr u8 kClassStorage = 0x08, kProtocolBot = 0x50;
constexpr u8 kBulk = 2;
u16 le16(u8 const* p) { return static_cast<u16>(p[0] | p[1] << 8); }
}  // namespace

char const* parse_device_descriptor(u8 const* d, u32 len, UsbIdentity* out) {
    if (len < kDeviceDescriptorBytes || d[0] != kDeviceDescriptorBytes) return "not 18 bytes";
    if (d[1] != kTypeDevice) return "not a device descriptor";
    out->device_class = d[4];
    out->vendor = le16(d + 8);
    out->product = le16(d + 10);
    out->serial_index = d[16];
    out->serial[0] = '\0';
    return nullptr;
}

char const* parse_serial_string(u8 const* d, u32 len, UsbIdentity* out) {
    if (len < 2 || d[0] < 2 || d[0] > len || (d[0] & 1)) return "bad length";
    if (d[1] != kTypeString) return "not a string descriptor";
    u32 const chars = (d[0] - 2u) / 2;
    if (chars == 0) return "empty serial";
    if (chars > kMaxSerialChars) return "serial longer than 63 characters";
    char s[kMaxSerialChars + 1];
    for (u32 i = 0; i < chars; ++i) {
        u16 const c = le16(d + 2 + 2 * i);
        if (c < 0x20 || c > 0x7E) return "serial not printable ASCII";
        s[i] = static_cast<char>(c);
    }
    s[chars] = '\0';
    for (u32 i = 0; i <= chars; ++i) out->serial[i] = s[i];
    return nullptr;
}

char const* parse_config_descriptor(u8 const* d, u32 len, ConfigInfo* out) {
    if (len < 9 || d[0] < 9 || d[1] != kTypeConfig) return "not a configuration descriptor";
    u32 const total = le16(d + 2);
    if (total > len) return "cut short";
    ConfigInfo c{d[5], false, false, false, 0, 0};
    u32 bots = 0;
    bool in_bot = false;  // the endpoints that follow belong to the BOT interface
    for (u32 at = 0; at < total;) {
        u8 const l = d[at];
        if (l < 2 || at + l > total) return "descriptor runs past the configuration";
        u8 const type = d[at + 1];
        if (type == kTypeInterface && l >= 9) {
            bool const storage = d[at + 5] == kClassStorage;
            c.storage |= storage;
            c.alternates |= storage && d[at + 3] != 0;
            in_bot = storage && d[at + 3] == 0 && d[at + 7] == kProtocolBot;
            bots += in_bot;
        } else if (type == kTypeEndpoint && l >= 7 && in_bot && (d[at + 3] & 3) == kBulk) {
            u8& ep = (d[at + 2] & 0x80) ? c.bulk_in : c.bulk_out;
            if (ep) return "BOT interface with more than one bulk endpoint each way";
            ep = d[at + 2];
        }
        at += l;
    }
    c.bot = bots == 1 && c.bulk_in && c.bulk_out;
    *out = c;
    return nullptr;
}

}  // namespace tv::usb
