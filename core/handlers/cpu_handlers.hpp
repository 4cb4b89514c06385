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

// Whether bytes (n of them, code of a 64-bit segment or not) are one of the SVM instructions
// that check the privilege level before their intercept: VMRUN, VMLOAD, VMSAVE, STGI, CLGI,
// SKINIT, INVLPGA (0F 01 D8, DA-DF), with any legacy prefixes and, in 64-bit code, a REX.
// A CPU without SVM raises #UD for them at every CPL; under SVM a CPL 3 one raises #GP
// first, which the monitor's #GP intercept turns back into #UD.
bool is_svm_instruction(u8 const* bytes, size_t n, bool code64);

// CPUID's ECX with the bits that mirror CR4 (OSXSAVE in leaf 1, OSPKE in leaf 7.0) taken
// from the guest's CR4, not the monitor's. Pure, host-tested.
u32 reflect_guest_cr4(u64 guest_cr4, u32 leaf, u32 subleaf, u32 ecx);

// Pure part of CPUID filtering, host-tested.
void filter_cpuid(u32 leaf, u32* eax, u32* ebx, u32* ecx, u32* edx);

}  // namespace tv
