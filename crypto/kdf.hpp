// Key derivation and MACs used by the keyslots, on mbedTLS: PBKDF2-HMAC-SHA256 (RFC 8018)
// and HMAC-SHA256 (RFC 2104). General-register code, no xmm use.
#pragma once

#include "core/types.hpp"

namespace tv::crypto {

inline constexpr u64 kSha256Bytes = 32;

// out_len bytes of PBKDF2-HMAC-SHA256. False on an allocation failure or a bad argument.
[[nodiscard]] bool pbkdf2_sha256(u8 const* pass, u64 pass_len, u8 const* salt, u64 salt_len,
                                 u32 iterations, u8* out, u32 out_len);

// HMAC-SHA256 over the concatenation of two messages (either may be empty).
[[nodiscard]] bool hmac_sha256(u8 const* key, u64 key_len, u8 const* a, u64 a_len, u8 const* b,
                               u64 b_len, u8 (&out)[kSha256Bytes]);

}  // namespace tv::crypto
