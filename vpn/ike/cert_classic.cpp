// The classic AUTH methods for gateways without RFC 7427 (RFC 7296 §3.8): 1, RSA Digital
// Signature (RSASSA-PKCS1-v1_5 over SHA-1), and 9, ECDSA with SHA-256 on P-256 (RFC 4754),
// whose AUTH data is r | s rather than the DER that mbedTLS and RFC 7427 use.
#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>

#include "vpn/ike/cert.hpp"

namespace tv::vpn::ike {

namespace {

constexpr size_t kHalf = kEcdsaP256Raw / 2;

// One DER INTEGER from a 32-byte big-endian unsigned value: leading zeros dropped, a 0x00
// put back in front of a high bit (a DER INTEGER is signed).
size_t der_integer(u8 const* v, u8* out) {
    size_t skip = 0;
    while (skip + 1 < kHalf && v[skip] == 0)
        ++skip;
    size_t const n = kHalf - skip;
    bool const pad = (v[skip] & 0x80) != 0;
    out[0] = MBEDTLS_ASN1_INTEGER;
    out[1] = static_cast<u8>(n + (pad ? 1 : 0));
    size_t o = 2;
    if (pad)
        out[o++] = 0;
    for (size_t i = 0; i < n; ++i)
        out[o++] = v[skip + i];
    return o;
}

}  // namespace

bool ecdsa_der_to_raw(u8 const* der, size_t len, u8 (&raw)[kEcdsaP256Raw]) {
    auto* p = const_cast<unsigned char*>(der);
    unsigned char const* const end = der + len;
    size_t seq = 0;
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    bool const ok =
        der != nullptr &&
        mbedtls_asn1_get_tag(&p, end, &seq, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) == 0 &&
        p + seq == end && mbedtls_asn1_get_mpi(&p, end, &r) == 0 &&
        mbedtls_asn1_get_mpi(&p, end, &s) == 0 && p == end &&
        mbedtls_mpi_write_binary(&r, raw, kHalf) == 0 &&
        mbedtls_mpi_write_binary(&s, raw + kHalf, kHalf) == 0;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return ok;
}

size_t ecdsa_raw_to_der(u8 const (&raw)[kEcdsaP256Raw], u8* out, size_t cap) {
    u8 body[2 * (2 + 1 + kHalf)];
    size_t n = der_integer(raw, body);
    n += der_integer(raw + kHalf, body + n);
    if (2 + n > cap)
        return 0;
    out[0] = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
    out[1] = static_cast<u8>(n);  // at most 70: the short form
    for (size_t i = 0; i < n; ++i)
        out[2 + i] = body[i];
    return 2 + n;
}

CertCheck PeerVerifier::verify_classic(u8 method, u8 const* sig, size_t sig_len, u8 const* digest,
                                       size_t digest_len) {
    if (!checked_)
        return CertCheck::Malformed;
    mbedtls_pk_context* const pk = &peer_.pk;
    if (method == kAuthRsaSignature) {
        if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA || digest_len != 20)
            return CertCheck::Unsupported;
        return mbedtls_pk_verify(pk, MBEDTLS_MD_SHA1, digest, digest_len, sig, sig_len) == 0
                   ? CertCheck::Ok
                   : CertCheck::BadSignature;
    }
    if (method != kAuthEcdsaP256 || digest_len != kDigestBytes ||
        mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) == 0 ||
        mbedtls_pk_ec(*pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
        return CertCheck::Unsupported;
    if (sig_len != kEcdsaP256Raw)
        return CertCheck::Malformed;
    u8 raw[kEcdsaP256Raw];
    for (size_t i = 0; i < kEcdsaP256Raw; ++i)
        raw[i] = sig[i];
    u8 der[2 + 2 * (2 + 1 + kHalf)];
    size_t const der_len = ecdsa_raw_to_der(raw, der, sizeof der);
    return der_len != 0 &&
                   mbedtls_pk_verify(pk, MBEDTLS_MD_SHA256, digest, digest_len, der, der_len) == 0
               ? CertCheck::Ok
               : CertCheck::BadSignature;
}

}  // namespace tv::vpn::ike
