#include "crypto/cpu_features.hpp"

#include "core/types.hpp"

namespace tv::crypto {

bool cpu_has_aesni() {
    u32 eax = 1, ebx = 0, ecx = 0, edx = 0;
    asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    return (ecx & (1u << 25)) != 0;
}

}  // namespace tv::crypto
