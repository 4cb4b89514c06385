// Whether the EHCI mediator may take a controller under this configuration. It shadows the
// schedule but does not yet follow mass storage (descriptors, Bulk-Only commands) as the xHCI
// mediator does, so a stick on EHCI would move plaintext past any [usb] rule, any key
// enrolled for a stick and any file-protection rule on a stick: under such a configuration EHCI controllers are left to the
// bus-master policy (no DMA, no USB), fail closed (docs/usb.md, "EHCI").
#pragma once

#include "core/config.hpp"

namespace tv::usb {

// nullptr when the configuration lets every USB device pass as it is (no [usb] rule other
// than allow, no [disk.NAME] with bus = usb, no [policy] file protection); else why EHCI must
// not be mediated.
[[nodiscard]] char const* ehci_config_refusal(Config const* cfg);

}  // namespace tv::usb
