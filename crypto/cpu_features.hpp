// What the CPU offers the crypto code. Read with CPUID, which the monitor runs natively
// (host mode) and a host program runs as usual.
#pragma once

namespace tv::crypto {

// AES-NI (CPUID.1:ECX bit 25). SSE2 is implied by x86-64.
[[nodiscard]] bool cpu_has_aesni();

// PCLMULQDQ, carry-less multiplication (CPUID.1:ECX bit 1): GHASH in crypto/aesni_gcm.
[[nodiscard]] bool cpu_has_pclmul();

}  // namespace tv::crypto
