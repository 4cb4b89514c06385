#include "core/arch/x86/cpu.hpp"
#include "core/virt_backend.hpp"

namespace tv {

VirtBackend* select_backend() {
    auto v = x86::cpuid(0);
    bool amd = v.ebx == 0x68747541 && v.edx == 0x69746E65 && v.ecx == 0x444D4163;  // "AuthenticAMD"
    if (amd) return svm_backend();
    // QEMU's TCG reports AuthenticAMD for -cpu max/EPYC; other vendors with SVM (e.g.
    // Hygon) are still AMD-V machines.
    if (x86::cpuid(0x80000001).ecx & (1u << 2)) return svm_backend();
    return nullptr;
}

}  // namespace tv
