#include "crypto/xts.hpp"

#include <mbedtls/aes.h>
#include <string.h>

#include "crypto/cpu_features.hpp"
#include "crypto/secure_zero.hpp"

namespace tv::crypto {

namespace {

struct MbedPair {
    mbedtls_aes_xts_context enc;
    mbedtls_aes_xts_context dec;
};

// C structs, so the storage array may hold them directly (C++20 implicit object creation);
// this avoids putting mbedTLS headers into every user of xts.hpp.
MbedPair& mbed(unsigned char* storage) { return *reinterpret_cast<MbedPair*>(storage); }

bool unit_ok(u64 len) { return len >= 16 && len <= kXtsMaxUnit && len % 16 == 0; }

}  // namespace

char const* engine_name(XtsEngine e) {
    switch (e) {
    case XtsEngine::AesNi:
        return "aes-ni";
    case XtsEngine::MbedTls:
        return "mbedtls";
    case XtsEngine::Auto:
        break;
    }
    return "none";
}

void sector_tweak(Lba sector, u8 (&tweak)[kXtsTweakBytes]) {
    for (unsigned i = 0; i < kXtsTweakBytes; ++i)
        tweak[i] = i < 8 ? static_cast<u8>(sector.raw >> (8 * i)) : u8{0};
}

Xts::Xts() {
    static_assert(sizeof(MbedPair) <= kMbedStorage, "raise Xts::kMbedStorage");
    static_assert(alignof(MbedPair) <= 16);
    secure_zero(&ni_, sizeof ni_);
    secure_zero(mbed_, sizeof mbed_);
}

Xts::~Xts() { wipe(); }

void Xts::wipe() {
    if (engine_ == XtsEngine::MbedTls) {
        mbedtls_aes_xts_free(&mbed(mbed_).enc);  // zeroizes the contexts
        mbedtls_aes_xts_free(&mbed(mbed_).dec);
    }
    secure_zero(&ni_, sizeof ni_);
    secure_zero(mbed_, sizeof mbed_);
    engine_ = XtsEngine::Auto;
}

Status Xts::set_key(u8 const* key, XtsEngine engine) {
    wipe();
    if (key == nullptr)
        return Status::Invalid;
    if (ct_equal(key, key + kXtsKeyBytes / 2, kXtsKeyBytes / 2))
        return Status::Invalid;
    bool const have_ni = cpu_has_aesni();
    if (engine == XtsEngine::Auto)
        engine = have_ni ? XtsEngine::AesNi : XtsEngine::MbedTls;
    if (engine == XtsEngine::AesNi) {
        if (!have_ni)
            return Status::Unsupported;
        aesni::xts256_expand(ni_, key);
        engine_ = engine;
        return Status::Ok;
    }
    MbedPair& m = mbed(mbed_);
    mbedtls_aes_xts_init(&m.enc);
    mbedtls_aes_xts_init(&m.dec);
    engine_ = XtsEngine::MbedTls;  // from here wipe() frees the contexts
    unsigned const bits = kXtsKeyBytes * 8;
    if (mbedtls_aes_xts_setkey_enc(&m.enc, key, bits) != 0 ||
        mbedtls_aes_xts_setkey_dec(&m.dec, key, bits) != 0) {
        wipe();
        return Status::Invalid;
    }
    return Status::Ok;
}

Status Xts::crypt(bool encrypt, u8 const* tweak, u8 const* in, u8* out, u64 len) {
    if (!keyed())
        return Status::Invalid;
    if (!unit_ok(len) || tweak == nullptr || in == nullptr || out == nullptr)
        return Status::Invalid;
    if (engine_ == XtsEngine::AesNi) {
        (encrypt ? aesni::xts256_encrypt : aesni::xts256_decrypt)(ni_, tweak, in, out, len);
        return Status::Ok;
    }
    MbedPair& m = mbed(mbed_);
    int const rc = encrypt ? mbedtls_aes_crypt_xts(&m.enc, MBEDTLS_AES_ENCRYPT, len, tweak, in, out)
                           : mbedtls_aes_crypt_xts(&m.dec, MBEDTLS_AES_DECRYPT, len, tweak, in, out);
    return rc == 0 ? Status::Ok : Status::Invalid;
}

Status Xts::crypt_sectors(bool encrypt, Lba first, u64 unit, u8 const* in, u8* out, u64 count) {
    if (!unit_ok(unit) || in == nullptr || out == nullptr)
        return Status::Invalid;
    if (count != 0 && count - 1 > ~first.raw)  // the last sector number would wrap around
        return Status::Invalid;
    u8 tweak[kXtsTweakBytes];
    for (u64 i = 0; i < count; ++i) {
        sector_tweak(Lba{first.raw + i}, tweak);
        Status const s = crypt(encrypt, tweak, in + i * unit, out + i * unit, unit);
        if (!ok(s))
            return s;
    }
    return Status::Ok;
}

Status Xts::encrypt(u8 const* tweak, u8 const* in, u8* out, u64 len) {
    return crypt(true, tweak, in, out, len);
}

Status Xts::decrypt(u8 const* tweak, u8 const* in, u8* out, u64 len) {
    return crypt(false, tweak, in, out, len);
}

Status Xts::encrypt_sectors(Lba first, u64 unit, u8 const* in, u8* out, u64 count) {
    return crypt_sectors(true, first, unit, in, out, count);
}

Status Xts::decrypt_sectors(Lba first, u64 unit, u8 const* in, u8* out, u64 count) {
    return crypt_sectors(false, first, unit, in, out, count);
}

}  // namespace tv::crypto
