// The NIC mediators' place in the monitor (drivers/nic/e1000_install.cpp).
#pragma once

#include "core/device/pci_registry.hpp"

namespace tv::nic {

// The e1000 driver (core/device/pci_registry): with a [network] section in thinvisor.conf it
// mediates the first Intel 82540EM (8086:100E) and makes it the monitor's FramePort
// (set_monitor_port). Without one: nothing is hooked.
// `net_echo=1` on the monitor's command line sends frames of ethertype 0x88B5 addressed to
// the monitor's MAC back to their sender (the tests' proof of the monitor's path).
extern pci::PciDriver const kE1000Driver;
// The counters of each mediated NIC, one log line each.
void nic_mediator_log();

}  // namespace tv::nic
