// A USB device's identity as issue 16 chooses a disk's key by it: vendor and product from the
// device descriptor, the serial from the string descriptor iSerialNumber names. Parsed from the
// monitor's copies of the descriptors the device returned (GET_DESCRIPTOR's data stage), so a
// guest that rewrites its buffer after the transfer changes nothing.
//
// Pure: host-tested in tests/unit/test_usb_bot.cpp. Not yet wired to the mediator (docs/usb.md).
#pragma once

#include "core/types.hpp"

namespace tv::usb {

inline constexpr u32 kDeviceDescriptorBytes = 18;
inline constexpr u32 kMaxSerialChars = 63;

struct UsbIdentity {
    u16 vendor, product;
    u8 serial_index;                  // iSerialNumber: 0 when the device has no serial string
    u8 device_class;                  // bDeviceClass (0: per interface)
    char serial[kMaxSerialChars + 1]; // printable ASCII, NUL-terminated; empty when none
};

// The device descriptor: nullptr when it is one (bLength 18, bDescriptorType 1), else why not.
[[nodiscard]] char const* parse_device_descriptor(u8 const* d, u32 len, UsbIdentity* out);
// The serial string descriptor (bDescriptorType 3, UTF-16LE): nullptr with out->serial set, else
// why not. Characters outside printable ASCII refuse the serial (a key must not be chosen by a
// string the log cannot show), and so does one longer than kMaxSerialChars.
[[nodiscard]] char const* parse_serial_string(u8 const* d, u32 len, UsbIdentity* out);

}  // namespace tv::usb
