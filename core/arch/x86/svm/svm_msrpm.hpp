// The MSR permission map (MSRPM) of every VMCB, built from the core's MSR policy
// (core/handlers/msr_policy) and the MSRs the core claims. Pure: host-tested.
#pragma once

#include "core/virt_backend.hpp"

namespace tv::svm {

inline constexpr size_t kMsrpmSize = 2 * 4096;

// Bit index of `msr`'s read bit (its write bit follows); false outside the three ranges the
// map covers (those MSRs always exit).
[[nodiscard]] bool msrpm_slot(u32 msr, u32* bit);
void build_msrpm(u8* msrpm, InterceptSet const& set);

}  // namespace tv::svm
