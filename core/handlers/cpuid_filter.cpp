#include "core/handlers/cpu_handlers.hpp"

namespace tv {

// The guest runs "as if nothing were underneath": it must not find a virtualization
// extension it could try to use, nor the SVM feature leaf.
void filter_cpuid(u32 leaf, u32* eax, u32* ebx, u32* ecx, u32* edx) {
    switch (leaf) {
        case 0x1:
            *ecx &= ~(1u << 5);  // VMX
            break;
        case 0x80000001:
            *ecx &= ~(1u << 2);  // SVM
            break;
        case 0x8000000A:  // SVM features: report nothing
            *eax = *ebx = *ecx = *edx = 0;
            break;
        default:
            break;
    }
}

}  // namespace tv
