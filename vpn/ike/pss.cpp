#include "vpn/ike/pss.hpp"

#include <mbedtls/sha256.h>

#include "crypto/secure_zero.hpp"

namespace tv::vpn::ike {

namespace {

// MGF1 with SHA-256 (RFC 8017 B.2.1), XORed into out[0..len).
bool mgf1_xor(u8 const (&seed)[kDigestBytes], u8* out, size_t len) {
    u8 block[kDigestBytes];
    for (u32 counter = 0; len != 0; ++counter) {
        u8 const c[4] = {static_cast<u8>(counter >> 24), static_cast<u8>(counter >> 16),
                         static_cast<u8>(counter >> 8), static_cast<u8>(counter)};
        mbedtls_sha256_context h;
        mbedtls_sha256_init(&h);
        bool const good = mbedtls_sha256_starts_ret(&h, 0) == 0 &&
                          mbedtls_sha256_update_ret(&h, seed, sizeof seed) == 0 &&
                          mbedtls_sha256_update_ret(&h, c, sizeof c) == 0 &&
                          mbedtls_sha256_finish_ret(&h, block) == 0;
        mbedtls_sha256_free(&h);
        if (!good)
            return false;
        size_t const n = len < sizeof block ? len : sizeof block;
        for (size_t i = 0; i < n; ++i)
            out[i] ^= block[i];
        out += n;
        len -= n;
    }
    return true;
}

}  // namespace

size_t emsa_pss_encode(u8 const (&digest)[kDigestBytes], u8 const (&salt)[kPssSaltBytes], size_t mod_bits,
                       u8* out, size_t cap) {
    size_t const k = (mod_bits + 7) / 8;      // the modulus' length: the block's
    size_t const em_bits = mod_bits - 1;      // EM stays below the modulus
    size_t const em_len = (em_bits + 7) / 8;  // k, or k - 1 when em_bits is a multiple of 8
    if (mod_bits < 8 || em_len < kDigestBytes + kPssSaltBytes + 2 || k > cap)
        return 0;
    // H = SHA-256(0x00 x 8 | mHash | salt)
    static constexpr u8 kZeros[8] = {};
    u8 h[kDigestBytes];
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    bool const good = mbedtls_sha256_starts_ret(&c, 0) == 0 && mbedtls_sha256_update_ret(&c, kZeros, 8) == 0 &&
                      mbedtls_sha256_update_ret(&c, digest, sizeof digest) == 0 &&
                      mbedtls_sha256_update_ret(&c, salt, sizeof salt) == 0 && mbedtls_sha256_finish_ret(&c, h) == 0;
    mbedtls_sha256_free(&c);
    if (!good)
        return 0;
    u8* const em = out + (k - em_len);
    size_t const db_len = em_len - kDigestBytes - 1;
    // DB = PS (zeros) | 0x01 | salt, masked with MGF1(H)
    for (size_t i = 0; i < k; ++i)
        out[i] = 0;
    em[db_len - kPssSaltBytes - 1] = 0x01;
    for (size_t i = 0; i < kPssSaltBytes; ++i)
        em[db_len - kPssSaltBytes + i] = salt[i];
    if (!mgf1_xor(h, em, db_len))
        return 0;
    em[0] &= static_cast<u8>(0xFF >> (8 * em_len - em_bits));
    for (size_t i = 0; i < kDigestBytes; ++i)
        em[db_len + i] = h[i];
    em[em_len - 1] = 0xbc;
    return k;
}

size_t sign_rsa_pss(Signer& signer, u8 const (&digest)[kDigestBytes], crypto::Random rng, u8* out, size_t cap) {
    size_t const bits = signer.rsa_bits();
    u8 salt[kPssSaltBytes];
    u8 block[kMaxSignature];
    if (bits == 0 || !rng(salt, sizeof salt))
        return 0;
    size_t const k = emsa_pss_encode(digest, salt, bits, block, sizeof block);
    size_t const n = k == 0 ? 0 : signer.rsa_raw(block, k, out, cap);
    crypto::secure_zero(salt, sizeof salt);
    return n == k ? n : 0;
}

}  // namespace tv::vpn::ike
