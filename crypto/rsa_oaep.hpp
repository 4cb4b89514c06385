// EME-OAEP with SHA-256 and MGF1-SHA256 (RFC 8017, 7.1), the padding half of RSA-OAEP.
//
// The RSA operation itself happens elsewhere: on the host through mbedTLS's public-key
// operation (enrolling a card), at boot on the smart card, whose raw private-key operation
// (CAC instruction 0x42) returns the padded block EM. The monitor then removes the padding
// here, so a card only ever needs "raw RSA", and the padding check is ours, in constant time.
//
// Pure code over mbedTLS's SHA-256 (general registers only); no allocation. Callers know
// the message length they expect (the keyslots wrap a 64-byte key), which lets the decoder
// check every byte's place without a data-dependent branch or copy.
#pragma once

#include "core/types.hpp"

namespace tv::crypto {

inline constexpr u64 kOaepHashBytes = 32;
inline constexpr u64 kOaepMaxModulusBytes = 512;  // RSA-4096

// The smallest modulus (in bytes) that fits a message of msg_len bytes.
constexpr u64 oaep_min_modulus(u64 msg_len) { return 2 * kOaepHashBytes + 2 + msg_len; }

// EM (k bytes, k = the modulus length) for msg under label, with the given random seed.
// False if the sizes do not fit (k too small for msg, or above kOaepMaxModulusBytes).
[[nodiscard]] bool oaep_encode_sha256(u8 const* msg, u64 msg_len, u8 const* label, u64 label_len,
                                      u8 const (&seed)[kOaepHashBytes], u8* em, u64 k);

// Recovers exactly msg_len bytes from EM (k bytes): true only if the leading byte is zero,
// the label hash matches, the padding is zeros then 0x01, and the message is exactly
// msg_len bytes long. Every check runs on every byte, whatever the data; on false, out is
// zeroed. The scratch copies of the seed and data block are wiped before return.
[[nodiscard]] bool oaep_decode_sha256(u8 const* em, u64 k, u8 const* label, u64 label_len, u8* out,
                                      u64 msg_len);

}  // namespace tv::crypto
