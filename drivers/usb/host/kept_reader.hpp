// Which root port the monitor keeps from the guest for the card reader ([card] reader = hide,
// docs/smartcard.md): the boot-time unlock (card_boot) records it when it finds the reader on
// an xHCI controller, and the xHCI mediator (drivers/usb/xhci_install.cpp) hides that port at
// its takeover. One reader, one record; a controller the record does not name keeps nothing.
//
// Pure: it links into the host tests of the mediator's glue (tests/unit/test_xhci_install_glue.cpp).
#pragma once

#include "drivers/pci/pci.hpp"

namespace tv::usb::host {

// behind_hub: a hub sits between the root port and the reader (the whole port is kept: the
// hub and all behind it).
void keep_reader_port(pci::Bdf controller, u8 root_port, bool behind_hub);
// The kept root port (1-based) of controller b; false if it keeps none.
[[nodiscard]] bool kept_reader_port(pci::Bdf b, u8& root_port, bool& behind_hub);
void forget_kept_reader();  // tests

}  // namespace tv::usb::host
