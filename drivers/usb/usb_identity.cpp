// Device and string descriptors (usb_identity.hpp).
#include "drivers/usb/usb_identity.hpp"

namespace tv::usb {

namespace {
constexpr u8 kTypeDevice = 1, kTypeString = 3;
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

}  // namespace tv::usb
