#include "crypto/gcm.hpp"

#include <mbedtls/gcm.h>

#include "crypto/cpu_features.hpp"
#include "crypto/secure_zero.hpp"

namespace tv::crypto {

namespace {

// A C struct, so the storage array may hold it directly (C++20 implicit object creation);
// this keeps mbedTLS's headers out of every user of gcm.hpp.
mbedtls_gcm_context& mbed(unsigned char* storage) {
    return *reinterpret_cast<mbedtls_gcm_context*>(storage);
}

bool lengths_ok(u64 aad_len, u64 len) { return aad_len <= kGcmMaxAad && len <= kGcmMaxData; }

}  // namespace

char const* engine_name(GcmEngine e) {
    switch (e) {
    case GcmEngine::AesNi:
        return "aes-ni";
    case GcmEngine::MbedTls:
        return "mbedtls";
    case GcmEngine::Auto:
        break;
    }
    return "none";
}

void Gcm::wipe() {
    if (engine_ == GcmEngine::MbedTls)
        mbedtls_gcm_free(&mbed(mbed_));  // zeroizes the context
    secure_zero(&ni_, sizeof ni_);
    secure_zero(mbed_, sizeof mbed_);
    engine_ = GcmEngine::Auto;
}

Status Gcm::set_key(u8 const* key, u64 key_len, GcmEngine engine) {
    static_assert(sizeof(mbedtls_gcm_context) <= kMbedStorage, "raise Gcm::kMbedStorage");
    static_assert(alignof(mbedtls_gcm_context) <= 16);
    wipe();
    if (key_len != 16 && key_len != 32)
        return Status::Invalid;
    bool const fast = cpu_has_aesni() && cpu_has_pclmul();
    if (engine == GcmEngine::Auto)
        engine = fast ? GcmEngine::AesNi : GcmEngine::MbedTls;
    if (engine == GcmEngine::AesNi) {
        if (!fast)
            return Status::Unsupported;
        aesni::gcm_expand(ni_, key, key_len);
    } else {
        mbedtls_gcm_init(&mbed(mbed_));
        if (mbedtls_gcm_setkey(&mbed(mbed_), MBEDTLS_CIPHER_ID_AES, key,
                               static_cast<unsigned>(key_len * 8)) != 0) {
            mbedtls_gcm_free(&mbed(mbed_));
            return Status::Invalid;
        }
    }
    engine_ = engine;
    return Status::Ok;
}

Status Gcm::seal(u8 const* nonce, u8 const* aad, u64 aad_len, u8 const* in, u8* out, u64 len,
                 u8* tag) {
    if (!keyed() || !lengths_ok(aad_len, len))
        return Status::Invalid;
    if (engine_ == GcmEngine::AesNi) {
        aesni::gcm_seal(ni_, nonce, aad, aad_len, in, out, len, tag);
        return Status::Ok;
    }
    int const rc =
        mbedtls_gcm_crypt_and_tag(&mbed(mbed_), MBEDTLS_GCM_ENCRYPT, len, nonce, kGcmNonceBytes,
                                  aad, aad_len, in, out, kGcmTagBytes, tag);
    return rc == 0 ? Status::Ok : Status::Invalid;
}

Status Gcm::open(u8 const* nonce, u8 const* aad, u64 aad_len, u8 const* in, u8* out, u64 len,
                 u8 const* tag) {
    if (!keyed() || !lengths_ok(aad_len, len))
        return Status::Invalid;
    if (engine_ == GcmEngine::AesNi)
        return aesni::gcm_open(ni_, nonce, aad, aad_len, in, out, len, tag) ? Status::Ok
                                                                            : Status::Refused;
    // mbedTLS compares the tag in constant time and zeroes out on a mismatch.
    int const rc = mbedtls_gcm_auth_decrypt(&mbed(mbed_), len, nonce, kGcmNonceBytes, aad, aad_len,
                                            tag, kGcmTagBytes, in, out);
    if (rc == MBEDTLS_ERR_GCM_AUTH_FAILED)
        return Status::Refused;
    return rc == 0 ? Status::Ok : Status::Invalid;
}

}  // namespace tv::crypto
