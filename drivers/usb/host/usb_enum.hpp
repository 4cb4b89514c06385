// Finding the CCID reader on a host's root ports and behind hubs (USB 2.0 chapter 11), on
// any UsbHost: each device's configuration is read; a hub (class 9) is configured, its ports
// powered, each connected one reset and the device behind it enumerated in turn (at most
// kMaxHubDepth hubs deep); the first usable CCID interface is configured with its bulk
// endpoints. Pure; host-tested against a fake host (tests/unit/test_usb_host_enum.cpp).
#pragma once

#include "card/ccid.hpp"
#include "drivers/usb/host/usb_config.hpp"
#include "drivers/usb/host/usb_host.hpp"

namespace tv::usb::host {

inline constexpr u8 kClassHub = 0x09;
inline constexpr u32 kMaxConfig = 512;  // configuration bytes read per device

// USB 2.0 11.24.2: hub class requests and features; 11.24.2.7: port status and change bits.
inline constexpr u8 kHubGetStatus = 0, kHubClearFeature = 1, kHubSetFeature = 3, kHubGetDescriptor = 6;
inline constexpr u16 kPortReset = 4, kPortPower = 8, kCPortConnection = 16, kCPortEnable = 17, kCPortReset = 20;
inline constexpr u16 kPortStatConnection = 1u << 0, kPortStatEnable = 1u << 1, kPortStatLowSpeed = 1u << 9,
                     kPortStatHighSpeed = 1u << 10;
inline constexpr u16 kPortChangeReset = 1u << 4;

// 11.23.2.1: the hub descriptor's fields that the enumeration uses.
struct HubDescriptor {
    u8 ports{0};
    u8 power_on_ms{0};  // bPwrOn2PwrGood, in ms (the descriptor counts 2 ms units)
};
// False if d is not a usable hub descriptor (short, wrong type, no ports).
[[nodiscard]] bool parse_hub_descriptor(u8 const* d, u32 len, HubDescriptor& out);

// The speed of the device on a hub port from its wPortStatus; a full-speed hub's ports only
// carry full- and low-speed devices.
[[nodiscard]] UsbSpeed hub_port_speed(u16 status, UsbSpeed hub_speed);

// The device on port `port` of `hub`: root port, depth, xHCI route string and the
// transaction translator (the nearest high-speed hub above a full/low-speed device).
[[nodiscard]] UsbDevice child_of(UsbDevice const& hub, u8 port, UsbSpeed speed);

// "3" on a root port, "3.1.4" behind hubs (the route string's tiers).
void port_path(UsbDevice const& dev, char* out, u32 cap);

struct FoundReader {
    UsbDevice dev;
    CcidInterface ccid;
    card::CcidReaderInfo info;
    u8 cfg[kMaxConfig];  // the reader's configuration descriptor (ccid.class_desc points here)
};

// Walks every root port; true with out filled when a reader is configured and ready.
[[nodiscard]] bool find_reader(UsbHost& host, FoundReader& out);

}  // namespace tv::usb::host
