// The MMIO pass-through test hooks (monitor command line `mmio_passthrough_test=`).
#pragma once

#include "core/device/pci_registry.hpp"

namespace tv::pci {

// A PciDriver (core/device/pci_registry), attached before the mediators so that a device it
// takes is never mediated. Inactive when the option is absent; a device asked for but not
// found stops the boot.
extern PciDriver const kPassthroughTestDriver;

}  // namespace tv::pci
