// Wiping secrets and comparing them without leaking timing.
#pragma once

#include "core/types.hpp"

namespace tv::crypto {

// Zeroes n bytes at p in a way the compiler may not drop as a dead store (a plain memset
// before free() or before a variable goes out of scope often is dropped).
void secure_zero(void* p, u64 n);

// True if the n bytes at a and b are equal; the time taken depends only on n, so an attacker
// timing a failed check learns nothing about how many leading bytes matched.
[[nodiscard]] bool ct_equal(u8 const* a, u8 const* b, u64 n);

}  // namespace tv::crypto
