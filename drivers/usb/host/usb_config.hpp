// The configuration descriptor of a USB device as the boot-time card reader needs it: the first
// interface of class 0x0B (smart card, CCID) with its bulk IN and OUT endpoints and the CCID
// class descriptor (0x21) that precedes them. Pure; host-tested (tests/unit/test_usb_host_config.cpp).
#pragma once

#include "core/types.hpp"

namespace tv::usb::host {

inline constexpr u8 kClassSmartCard = 0x0b;

struct CcidInterface {
    u8 config_value{0};
    u8 interface{0};
    u8 bulk_in{0}, bulk_out{0};  // endpoint addresses (bit 7 set for IN)
    u16 in_packet{0}, out_packet{0};
    u8 const* class_desc{nullptr};  // points into the parsed buffer
    u32 class_len{0};
};

// nullptr with out filled, else why there is no usable CCID interface. d is the whole
// configuration descriptor (wTotalLength bytes).
[[nodiscard]] char const* find_ccid_interface(u8 const* d, u32 len, CcidInterface& out);

}  // namespace tv::usb::host
