// thinvisor.conf [usb]: the device policy of the USB mediator (drivers/usb/usb_policy.hpp,
// docs/usb.md, docs/config.md). Kept apart from config.hpp so that the section adds one hunk
// there.
#pragma once

#include "core/types.hpp"

namespace tv {

// What a USB device may do, the administrator's words in the same order.
//   allow:     as the key table says (an enrolled stick encrypted, another one plaintext)
//   encrypt:   mass storage only when enrolled ([disk.NAME] bus = usb); others are refused
//   read-only: mass storage readable, every write refused with DATA PROTECT
//   deny:      mass storage refused altogether (a disk with no medium, as under encrypt)
enum class UsbRule : u8 { Allow, Encrypt, ReadOnly, Deny };

struct UsbDeviceRule {
    u16 vendor, product;
    char serial[64];  // empty: any serial
    UsbRule rule;
};

struct UsbConfig {
    static constexpr u32 kMaxDevices = 8;
    bool present;
    UsbRule storage;  // mass-storage devices no `device` line names (default allow)
    UsbDeviceRule devices[kMaxDevices];
    u32 device_count;
};

namespace cfg {
struct Span;
// `storage = RULE` and `device = VVVV:PPPP[:SERIAL] RULE` (core/config_usb.cpp).
[[nodiscard]] bool parse_usb_rule(Span v, UsbRule* out);
[[nodiscard]] bool parse_usb_device(Span v, UsbConfig* usb);
}  // namespace cfg

}  // namespace tv
