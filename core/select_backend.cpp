#include "core/arch/x86/cpu.hpp"
#include "core/virt_backend.hpp"

namespace tv {

VirtBackend* vmx_backend();  // core/arch/x86/vmx/vmx_backend.cpp

VirtBackend* select_backend() {
    auto v = x86::cpuid(0);
    bool amd = v.ebx == 0x68747541 && v.edx == 0x69746E65 && v.ecx == 0x444D4163;  // "AuthenticAMD"
    if (amd) return svm_backend();
    // QEMU's TCG reports AuthenticAMD for -cpu max/EPYC; other vendors with SVM (e.g.
    // Hygon) are still AMD-V machines.
    if (x86::cpuid(0x80000001).ecx & (1u << 2)) return svm_backend();
    // An Intel CPU without VMX still goes to the VT-x backend, whose check names what is
    // missing; other vendors with VMX (Zhaoxin, ...) are VT-x machines too.
    bool intel = v.ebx == 0x756E6547 && v.edx == 0x49656E69 && v.ecx == 0x6C65746E;  // "GenuineIntel"
    if (intel || (x86::cpuid(1).ecx & (1u << 5))) return vmx_backend();
    return nullptr;
}

}  // namespace tv
