#include "crypto/cpu_features.hpp"

#include "core/types.hpp"

namespace tv::crypto {

namespace {

u32 cpuid1_ecx() {
    u32 eax = 1, ebx = 0, ecx = 0, edx = 0;
    asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    return ecx;
}

}  // namespace

bool cpu_has_aesni() { return (cpuid1_ecx() & (1u << 25)) != 0; }

bool cpu_has_pclmul() {
    u32 const want = (1u << 1) | (1u << 9);
    return (cpuid1_ecx() & want) == want;
}

}  // namespace tv::crypto
