// A USB device's identity as issue 16 chooses a disk's key by it: vendor and product from the
// device descriptor, the serial from the string descriptor iSerialNumber names. Parsed from the
// monitor's copies of the descriptors the device returned (GET_DESCRIPTOR's data stage), so a
// guest that rewrites its buffer after the transfer changes nothing.
//
// Also the configuration descriptor: whether the device has a mass-storage interface and,
// for Bulk-Only Transport, which bulk endpoints carry it.
//
// Pure: host-tested in tests/unit/test_usb_bot.cpp and test_usb_storage.cpp.
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

// What a configuration descriptor (with all its interfaces and endpoints) says about mass
// storage. A device with any mass-storage interface is storage; only a single Bulk-Only one
// (alternate setting 0, protocol 0x50) with one bulk endpoint each way can be mediated.
struct ConfigInfo {
    u8 value;             // bConfigurationValue
    bool storage;         // some interface (any alternate setting) is class 08h
    bool bot;             // exactly one BOT interface at alternate setting 0, endpoints found
    bool alternates;      // a storage interface has alternate settings besides 0 (UAS)
    u8 bulk_in, bulk_out; // the BOT interface's endpoint addresses
};

// The whole configuration descriptor (wTotalLength bytes): nullptr with *out set, else why
// not (also for a descriptor that was cut short: the mediator decides on complete ones only).
[[nodiscard]] char const* parse_config_descriptor(u8 const* d, u32 len, ConfigInfo* out);

// The Device Context Index of an endpoint address (bit 7: IN).
constexpr u8 endpoint_dci(u8 address) { return static_cast<u8>((address & 0xF) * 2 + (address >> 7)); }

}  // namespace tv::usb
