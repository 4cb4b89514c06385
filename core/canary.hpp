// Canaries: a random value, generated at boot, that the monitor keeps in every kind of memory
// it owns, so the attack suite (tests/suites/attacks.py) can tell a leak by its bytes. The
// value goes to COM2 only, never into the log ring the guest can read; the places (physical
// addresses, no value) go to the ring, so an attacker may aim at them.
#pragma once

#include "core/types.hpp"

namespace tv {

// 8 bytes "TVCANARY" then 24 random bytes; fills repeat it.
inline constexpr size_t kCanaryUnit = 32;

// Generates the value and stamps the monitor's own code, data, heap and a page-allocator page;
// registers a power-off check that those four still hold it.
void canary_init();

// Stamps a device-visible buffer (bounce buffers, unused ring space). These change in normal
// use, so they are not checked at power-off: the suite looks for their bytes outside instead.
// what == nullptr: stamped without a log line (one line for a run of similar buffers).
void canary_fill(void* p, size_t n, char const* what);

}  // namespace tv
