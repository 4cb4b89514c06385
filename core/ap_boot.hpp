// The monitor takes the application processors before the guest runs: the firmware parked
// them; each gets its own INIT-SIPI-SIPI into a real-mode trampoline, switches to long mode
// on the monitor's tables, enables SVM/VMX and creates its vCPU in wait-for-SIPI. The guest's
// own INIT/SIPI (core/smp) then start its AP code on it.
#pragma once

#include "core/types.hpp"

namespace tv {

struct Machine;

// Finds the CPUs (ACPI MADT), claims the ICR and brings every AP up; call after the
// intercept set is final. Returns the number of CPUs now in the monitor (1 without APs).
u32 ap_boot_all(Machine& m);
// The boot CPU is ready to run the guest: the APs enter their vCPU loops.
void ap_release();

}  // namespace tv
