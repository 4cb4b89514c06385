// What the CPU offers the crypto code. Read with CPUID, which the monitor runs natively
// (host mode) and a host program runs as usual.
#pragma once

namespace tv::crypto {

// AES-NI (CPUID.1:ECX bit 25). SSE2 is implied by x86-64.
[[nodiscard]] bool cpu_has_aesni();

// PCLMULQDQ, carry-less multiplication (CPUID.1:ECX bit 1), and SSSE3's PSHUFB (bit 9), which
// every such CPU has but which is checked all the same: GHASH in crypto/aesni_gcm needs both.
[[nodiscard]] bool cpu_has_pclmul();

}  // namespace tv::crypto
