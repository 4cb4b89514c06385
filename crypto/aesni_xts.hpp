// XTS-AES-256 on AES-NI (IEEE 1619): the fast engine behind crypto/xts.hpp.
//
// aesni_xts.cpp is the only file of crypto/ that uses SSE registers; it is compiled without
// -mgeneral-regs-only and with -maes. Call it only on a CPU with AES-NI and, in the monitor,
// only inside an FpuGuard (crypto/fpu_guard.hpp): it clobbers the guest's xmm registers.
// This header uses no SSE types, so general-register code can include it.
#pragma once

#include "core/types.hpp"

namespace tv::crypto::aesni {

inline constexpr unsigned kRounds = 14;  // AES-256

// Round keys in the byte order AES-NI loads them. 16-byte aligned for aligned loads.
struct alignas(16) Xts256Keys {
    u8 enc[kRounds + 1][16];    // data key K1, encryption schedule
    u8 dec[kRounds + 1][16];    // data key K1, decryption schedule (AESIMC applied)
    u8 tweak[kRounds + 1][16];  // tweak key K2, encryption schedule
};

// key: 64 bytes, K1 (data) then K2 (tweak).
void xts256_expand(Xts256Keys& out, u8 const* key);

// One data unit of len bytes (a multiple of 16, at least 16; no ciphertext stealing) whose
// tweak, before encryption with K2, is the 16 bytes at tweak. in and out may be the same.
void xts256_encrypt(Xts256Keys const& k, u8 const* tweak, u8 const* in, u8* out, u64 len);
void xts256_decrypt(Xts256Keys const& k, u8 const* tweak, u8 const* in, u8* out, u64 len);

}  // namespace tv::crypto::aesni
