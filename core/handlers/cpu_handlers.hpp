// Guest-visible CPU behaviour: CPUID, the MSRs by the default-deny policy of msr_policy.hpp,
// and the virtualization instructions the guest must see as absent.
#pragma once

#include "core/exit_record.hpp"
#include "core/vcpu.hpp"
#include "core/virt_backend.hpp"

namespace tv {

void handle_cpuid(Vcpu& v, ExitRecord const& e);
void handle_msr_read(Vcpu& v, ExitRecord const& e);
void handle_msr_write(Vcpu& v, ExitRecord const& e);
void handle_virt_instruction(Vcpu& v, ExitRecord const& e);

// Pure part of CPUID filtering, host-tested.
void filter_cpuid(u32 leaf, u32* eax, u32* ebx, u32* ecx, u32* edx);

}  // namespace tv
