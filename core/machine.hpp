// The one guest machine the monitor runs, as the handlers share it.
#pragma once

#include "core/memmap.hpp"
#include "core/nested_paging.hpp"
#include "core/virt_backend.hpp"

namespace tv {

struct Machine {
    MemoryMap guest_map{};    // what the guest firmware reports: monitor memory carved out
    NestedPageTable nested{};  // guest-physical -> host-physical, shared by all vCPUs
    InterceptSet intercepts{};
    VirtBackend* backend{nullptr};
    u64 nested_limit{0};       // guest-physical addresses below this are mapped (identity)
};

Machine& machine();

}  // namespace tv
