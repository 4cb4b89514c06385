// The USB device policy: which rule of [usb] (core/config_usb.hpp) a device gets. The first
// `device` line that names its vendor and product (and its serial, when the line gives one)
// wins; a mass-storage device no line names gets `storage`; without [usb], every device is
// allowed (an enrolled stick is still encrypted: the key table decides that).
//
// Pure: host-tested in tests/unit/test_usb_policy.cpp.
#pragma once

#include "core/config_usb.hpp"
#include "drivers/usb/usb_identity.hpp"

namespace tv::usb {

UsbRule usb_rule_for(UsbConfig const* cfg, UsbIdentity const& id, bool serial_read);

}  // namespace tv::usb
