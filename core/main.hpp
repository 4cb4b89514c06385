#pragma once

#include "core/types.hpp"

namespace tv {

class VirtBackend;

[[noreturn]] void monitor_main();
// The backend for this CPU if it can run the guest protected; else nullptr and the reason.
// Pure CPUID/MSR reads, so a boot path may ask before it commits to the monitor.
[[nodiscard]] VirtBackend* usable_backend(char* why, size_t n);
u64 monitor_tables_base();
[[nodiscard]] Status heap_init(u64 bytes);

}  // namespace tv
