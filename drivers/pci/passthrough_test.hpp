// The MMIO pass-through test hooks (monitor command line `mmio_passthrough_test=`).
#pragma once

#include "core/types.hpp"

namespace tv::pci {

// After pci_init() and before pci_ports_install(); Ok when the option is absent.
[[nodiscard]] Status passthrough_test_install();

}  // namespace tv::pci
