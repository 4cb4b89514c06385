// The VMCS's MSR bitmap, built from the core's MSR policy (core/handlers/msr_policy) and the
// MSRs the core claims. Pure: host-tested.
#pragma once

#include "core/arch/x86/vmx/vmcs.hpp"
#include "core/virt_backend.hpp"

namespace tv::vmx {

// Whether a read or a write of `msr` exits by this bitmap (MSRs outside its two ranges
// always exit).
bool msr_bitmap_exits(MsrBitmap const& b, u32 msr, bool write);
void build_msr_bitmap(MsrBitmap* b, InterceptSet const& set);

}  // namespace tv::vmx
