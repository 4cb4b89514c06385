#include "vpn/ike/file_signer.hpp"

#include <mbedtls/ecp.h>
#include <mbedtls/platform.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

#include "crypto/secure_zero.hpp"
#include "vpn/ike/cert.hpp"

namespace tv::vpn::ike {

namespace {

int random_cb(void* ctx, unsigned char* out, size_t n) {
    return (*static_cast<crypto::Random*>(ctx))(out, n) ? 0 : -1;
}

// The key, PEM or DER; PEM is given to mbedTLS NUL-terminated, in a copy wiped afterwards.
bool parse_key(mbedtls_pk_context* pk, u8 const* key, size_t len) {
    if (len == 0)
        return false;
    if (key[0] == 0x30)
        return mbedtls_pk_parse_key(pk, key, len, nullptr, 0) == 0;
    auto* const tmp = static_cast<u8*>(mbedtls_calloc(1, len + 1));
    if (tmp == nullptr)
        return false;
    for (size_t i = 0; i < len; ++i)
        tmp[i] = key[i];
    bool const ok = mbedtls_pk_parse_key(pk, tmp, len + 1, nullptr, 0) == 0;
    crypto::secure_zero(tmp, len + 1);
    mbedtls_free(tmp);
    return ok;
}

}  // namespace

FileSigner::FileSigner() {
    mbedtls_pk_init(&pk_);
}

FileSigner::~FileSigner() {
    mbedtls_pk_free(&pk_);
}

Status FileSigner::load(u8 const* cert, size_t cert_len, u8* key, size_t key_len,
                        crypto::Random rng) {
    mbedtls_pk_free(&pk_);
    mbedtls_pk_init(&pk_);
    loaded_ = false;
    bool ok = key != nullptr && parse_key(&pk_, key, key_len);
    if (key != nullptr)
        crypto::secure_zero(key, key_len);
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    ok = ok && parse_certificate(&crt, cert, cert_len) && crt.next == nullptr &&
         crt.raw.len <= sizeof cert_ && mbedtls_pk_check_pair(&crt.pk, &pk_) == 0;
    if (ok && mbedtls_pk_get_type(&pk_) == MBEDTLS_PK_RSA) {
        size_t const bits = mbedtls_pk_get_bitlen(&pk_);
        scheme_ = SigScheme::RsaPkcs1Sha256;
        ok = bits >= 2048 && bits <= 4096;
    } else if (ok && mbedtls_pk_get_type(&pk_) == MBEDTLS_PK_ECKEY) {
        scheme_ = SigScheme::EcdsaP256Sha256;
        ok = mbedtls_pk_ec(pk_)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
    } else {
        ok = false;
    }
    if (ok) {
        cert_len_ = crt.raw.len;
        for (size_t i = 0; i < cert_len_; ++i)
            cert_[i] = crt.raw.p[i];
        rng_ = rng;
        loaded_ = true;
    } else {
        mbedtls_pk_free(&pk_);
        mbedtls_pk_init(&pk_);
    }
    mbedtls_x509_crt_free(&crt);
    return ok ? Status::Ok : Status::Invalid;
}

size_t FileSigner::sign(u8 const (&digest)[kDigestBytes], u8* out, size_t cap) {
    return sign_with(MBEDTLS_MD_SHA256, digest, kDigestBytes, out, cap);
}

size_t FileSigner::sign_sha1(u8 const (&digest)[kSha1Bytes], u8* out, size_t cap) {
    if (scheme_ != SigScheme::RsaPkcs1Sha256)
        return 0;
    return sign_with(MBEDTLS_MD_SHA1, digest, kSha1Bytes, out, cap);
}

size_t FileSigner::rsa_bits() const {
    return loaded_ && scheme_ == SigScheme::RsaPkcs1Sha256 ? mbedtls_pk_get_bitlen(&pk_) : 0;
}

// With mbedTLS's blinding (the random callback), as its own PKCS#1 signatures use.
size_t FileSigner::rsa_raw(u8 const* block, size_t len, u8* out, size_t cap) {
    if (rsa_bits() == 0)
        return 0;
    mbedtls_rsa_context* const rsa = mbedtls_pk_rsa(pk_);
    size_t const k = mbedtls_rsa_get_len(rsa);
    if (len != k || cap < k || mbedtls_rsa_private(rsa, &random_cb, &rng_, block, out) != 0)
        return 0;
    return k;
}

size_t FileSigner::sign_with(int md, u8 const* digest, size_t digest_len, u8* out, size_t cap) {
    u8 sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t len = 0;
    if (!loaded_ || mbedtls_pk_sign(&pk_, static_cast<mbedtls_md_type_t>(md), digest, digest_len, sig,
                                    &len, &random_cb, &rng_) != 0 ||
        len > cap)
        return 0;
    for (size_t i = 0; i < len; ++i)
        out[i] = sig[i];
    return len;
}

}  // namespace tv::vpn::ike
