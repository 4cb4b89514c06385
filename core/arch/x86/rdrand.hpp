// The CPU's random numbers: the monitor's one entropy source (the canary, IKE's nonces and
// keys, the TLS client's DRBG seed). Callers check for RDRAND (CPUID.1:ECX[30]) where its
// absence has a fallback; these fail rather than hand out anything not random.
#pragma once

#include <string.h>

#include "core/types.hpp"

namespace tv::x86 {

// RDRAND may fail transiently when its source is drained; Intel suggests 10 retries, 32 is
// generous. False only when every try failed.
[[nodiscard]] inline bool rdrand64(u64* out) {
    for (int i = 0; i < 32; ++i) {
        u8 ok;
        asm volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok)::"cc");
        if (ok) return true;
    }
    return false;
}

// `n` random bytes into `out`; false (with `out` partly filled) when RDRAND gave none.
[[nodiscard]] inline bool rdrand_fill(u8* out, size_t n) {
    while (n) {
        u64 r = 0;
        if (!rdrand64(&r)) return false;
        size_t const k = n < 8 ? n : 8;
        memcpy(out, &r, k);
        out += k;
        n -= k;
    }
    return true;
}

}  // namespace tv::x86
