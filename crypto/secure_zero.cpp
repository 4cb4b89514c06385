#include "crypto/secure_zero.hpp"

#include <string.h>

namespace tv::crypto {

void secure_zero(void* p, u64 n) {
    if (n == 0)
        return;
    memset(p, 0, n);
    // The empty asm claims to read the memory at p: the stores above are now observable,
    // so no optimisation (including LTO) may remove them.
    asm volatile("" : : "r"(p) : "memory");
}

bool ct_equal(u8 const* a, u8 const* b, u64 n) {
    u8 diff = 0;
    for (u64 i = 0; i < n; ++i)
        diff = static_cast<u8>(diff | (a[i] ^ b[i]));
    return diff == 0;
}

}  // namespace tv::crypto
