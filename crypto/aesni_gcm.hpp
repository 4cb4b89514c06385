// AES-GCM on AES-NI + PCLMULQDQ: the fast engine behind crypto/gcm.hpp.
//
// aesni_gcm.cpp is, with aesni_xts.cpp, one of the two files of crypto/ that use SSE
// registers; it is compiled without -mgeneral-regs-only and with -maes -mpclmul -mssse3. Call
// it only on a CPU with all three (cpu_has_aesni() && cpu_has_pclmul()) and, in the monitor,
// only inside an FpuGuard (crypto/fpu_guard.hpp). This header uses no SSE types.
#pragma once

#include "core/types.hpp"

namespace tv::crypto::aesni {

inline constexpr unsigned kGcmMaxRounds = 14;  // AES-256; AES-128 uses 10
inline constexpr unsigned kGcmHPowers = 4;     // H^1..H^4 for the four-block aggregated GHASH

// The expanded key: round keys in AES-NI byte order and the powers of the hash key H in the
// byte-reflected form the GHASH multiply uses. 16-byte aligned.
struct alignas(16) GcmKeys {
    u8 rk[kGcmMaxRounds + 1][16];
    u8 h[kGcmHPowers][16];  // h[i] = H^(i+1)
    u32 rounds;             // 10 or 14
};

// key_len: 16 or 32 (the caller checks).
void gcm_expand(GcmKeys& out, u8 const* key, u64 key_len);

// nonce: 12 bytes. in and out may be the same buffer. tag: 16 bytes out.
void gcm_seal(GcmKeys const& k, u8 const* nonce, u8 const* aad, u64 aad_len, u8 const* in, u8* out,
              u64 len, u8* tag);

// Computes the tag over the ciphertext in and, only if it equals tag (constant-time compare),
// decrypts into out. Returns false (out untouched) on a mismatch.
[[nodiscard]] bool gcm_open(GcmKeys const& k, u8 const* nonce, u8 const* aad, u64 aad_len,
                            u8 const* in, u8* out, u64 len, u8 const* tag);

}  // namespace tv::crypto::aesni
