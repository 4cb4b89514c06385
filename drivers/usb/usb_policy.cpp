// The USB device policy (usb_policy.hpp).
#include "drivers/usb/usb_policy.hpp"

#include <string.h>

namespace tv::usb {

UsbRule usb_rule_for(UsbConfig const* cfg, UsbIdentity const& id, bool serial_read) {
    if (!cfg || !cfg->present) return UsbRule::Allow;
    for (u32 i = 0; i < cfg->device_count; ++i) {
        UsbDeviceRule const& d = cfg->devices[i];
        if (d.vendor != id.vendor || d.product != id.product) continue;
        if (d.serial[0] && (!serial_read || strcmp(d.serial, id.serial) != 0)) continue;
        return d.rule;
    }
    return cfg->storage;
}

}  // namespace tv::usb
