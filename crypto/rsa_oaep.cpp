#include "crypto/rsa_oaep.hpp"

#include <mbedtls/sha256.h>
#include <string.h>

#include "crypto/secure_zero.hpp"

namespace tv::crypto {

namespace {

// XORs MGF1-SHA256(seed) into out[0, n).
bool mgf1_xor(u8 const* seed, u64 seed_len, u8* out, u64 n) {
    u8 block[kOaepHashBytes];
    bool ok = true;
    for (u32 counter = 0; n > 0 && ok; ++counter) {
        u8 const c[4] = {static_cast<u8>(counter >> 24), static_cast<u8>(counter >> 16),
                         static_cast<u8>(counter >> 8), static_cast<u8>(counter)};
        mbedtls_sha256_context ctx;
        mbedtls_sha256_init(&ctx);
        ok = mbedtls_sha256_starts_ret(&ctx, 0) == 0 &&
             mbedtls_sha256_update_ret(&ctx, seed, seed_len) == 0 &&
             mbedtls_sha256_update_ret(&ctx, c, sizeof c) == 0 &&
             mbedtls_sha256_finish_ret(&ctx, block) == 0;
        mbedtls_sha256_free(&ctx);
        u64 const take = n < sizeof block ? n : sizeof block;
        for (u64 i = 0; i < take; ++i)
            out[i] = static_cast<u8>(out[i] ^ block[i]);
        out += take;
        n -= take;
    }
    secure_zero(block, sizeof block);
    return ok;
}

bool label_hash(u8 const* label, u64 label_len, u8 (&out)[kOaepHashBytes]) {
    static u8 const kEmpty[1] = {0};
    return mbedtls_sha256_ret(label != nullptr ? label : kEmpty, label_len, out, 0) == 0;
}

bool sizes_fit(u64 msg_len, u64 k) {
    return k <= kOaepMaxModulusBytes && k >= oaep_min_modulus(msg_len);
}

// 0xff if a == b, else 0, without a branch on the values.
u8 ct_eq_mask(u64 a, u64 b) {
    u64 const x = a ^ b;
    u64 const nonzero = (x | (0 - x)) >> 63;  // 1 if x != 0
    return static_cast<u8>(static_cast<u8>(nonzero) - 1);
}

}  // namespace

bool oaep_encode_sha256(u8 const* msg, u64 msg_len, u8 const* label, u64 label_len,
                        u8 const (&seed)[kOaepHashBytes], u8* em, u64 k) {
    if (em == nullptr || (msg == nullptr && msg_len != 0) || !sizes_fit(msg_len, k))
        return false;
    u64 const db_len = k - kOaepHashBytes - 1;
    u8* const masked_seed = em + 1;
    u8* const db = em + 1 + kOaepHashBytes;
    u8 lhash[kOaepHashBytes];
    if (!label_hash(label, label_len, lhash))
        return false;
    memset(em, 0, k);
    memcpy(db, lhash, sizeof lhash);
    db[db_len - msg_len - 1] = 0x01;
    if (msg_len != 0)
        memcpy(db + db_len - msg_len, msg, msg_len);
    memcpy(masked_seed, seed, kOaepHashBytes);
    bool const ok = mgf1_xor(seed, kOaepHashBytes, db, db_len) &&
                    mgf1_xor(db, db_len, masked_seed, kOaepHashBytes);
    if (!ok)
        secure_zero(em, k);
    return ok;
}

bool oaep_decode_sha256(u8 const* em, u64 k, u8 const* label, u64 label_len, u8* out,
                        u64 msg_len) {
    if (em == nullptr || out == nullptr || !sizes_fit(msg_len, k))
        return false;
    u8 lhash[kOaepHashBytes];
    if (!label_hash(label, label_len, lhash))
        return false;
    u64 const db_len = k - kOaepHashBytes - 1;
    u8 seed[kOaepHashBytes];
    u8 db[kOaepMaxModulusBytes];
    memcpy(seed, em + 1, sizeof seed);
    memcpy(db, em + 1 + kOaepHashBytes, db_len);
    bool const hashed = mgf1_xor(db, db_len, seed, sizeof seed) && mgf1_xor(seed, sizeof seed, db, db_len);

    // bad collects every deviation; no branch depends on the data until it is complete.
    u8 bad = em[0];
    for (u64 i = 0; i < kOaepHashBytes; ++i)
        bad = static_cast<u8>(bad | (db[i] ^ lhash[i]));
    u64 const sep = db_len - msg_len - 1;  // where 0x01 must be: PS is zeros up to it
    for (u64 i = kOaepHashBytes; i < db_len - msg_len; ++i) {
        u8 const at_sep = ct_eq_mask(i, sep);
        u8 const want = static_cast<u8>(at_sep & 0x01);
        bad = static_cast<u8>(bad | (db[i] ^ want));
    }
    u8 const keep = static_cast<u8>(ct_eq_mask(bad, 0) & (hashed ? 0xff : 0x00));
    for (u64 i = 0; i < msg_len; ++i)
        out[i] = static_cast<u8>(db[sep + 1 + i] & keep);
    secure_zero(seed, sizeof seed);
    secure_zero(db, sizeof db);
    return keep != 0;
}

}  // namespace tv::crypto
