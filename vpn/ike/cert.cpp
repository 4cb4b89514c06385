#include "vpn/ike/cert.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>
#include <mbedtls/platform.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>

#include "vpn/ike/constants.hpp"
#include "vpn/ike/pss.hpp"

namespace tv::vpn::ike {

namespace {

// RFC 7427 Appendix A: the AlgorithmIdentifiers of the two schemes.
constexpr u8 kRsaSha256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                             0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
constexpr u8 kRsaSha256NoParams[] = {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48,
                                     0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b};
constexpr u8 kEcdsaSha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                               0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
// id-RSASSA-PSS with RSASSA-PSS-params {hashAlgorithm sha256, maskGenAlgorithm mgf1SHA256,
// saltLength 32}, trailerField left at its default (RFC 7427 Appendix A.4.3; RFC 4055 §3.1).
// What we send and what strongSwan sends: SHA-256's AlgorithmIdentifiers with NULL parameters.
constexpr u8 kRsaPssSha256[] = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,  // id-RSASSA-PSS
    0x30, 0x34,                                                                    // params
    0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,  // id-mgf1
    0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0xa2, 0x03, 0x02, 0x01, 0x20};  // saltLength 32
// The same with the hash AlgorithmIdentifiers' parameters absent, which RFC 4055 §2.1 makes
// equivalent. Any other hash, mask, salt length or trailer is refused as Unsupported.
constexpr u8 kRsaPssSha256NoNull[] = {
    0x30, 0x3d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
    0x30, 0x30,
    0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    0xa1, 0x1a, 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
    0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    0xa2, 0x03, 0x02, 0x01, 0x20};
static_assert(sizeof kRsaPssSha256 == 67 && sizeof kRsaPssSha256NoNull == 63);

// Signatures with SHA-2 only, RSA of 2048 bits and more, EC keys on P-256 only.
mbedtls_x509_crt_profile const kProfile = {
    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) | MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) |
        MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
    MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSA) | MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECKEY) |
        MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECDSA),
    MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP256R1),
    2048,
};

template <size_t N>
bool same(u8 const* p, size_t n, u8 const (&ref)[N]) {
    if (n != N)
        return false;
    for (size_t i = 0; i < N; ++i)
        if (p[i] != ref[i])
            return false;
    return true;
}

bool same_nocase(u8 const* a, size_t an, u8 const* b, size_t bn) {
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; ++i) {
        u8 x = a[i], y = b[i];
        x = (x >= 'A' && x <= 'Z') ? static_cast<u8>(x + 32) : x;
        y = (y >= 'A' && y <= 'Z') ? static_cast<u8>(y + 32) : y;
        if (x != y)
            return false;
    }
    return true;
}

bool is_pem(u8 const* d, size_t n) {
    static constexpr char kBegin[] = "-----BEGIN ";
    if (n < sizeof kBegin - 1)
        return false;
    for (size_t i = 0; i + 1 < sizeof kBegin; ++i)
        if (d[i] != static_cast<u8>(kBegin[i]))
            return false;
    return true;
}

// RSASSA-PSS with exactly the parameters of kRsaPssSha256 (the salt's length checked too).
// mbedTLS reads a signature of the modulus' length: a shorter or longer one is refused first.
bool verify_pss(mbedtls_rsa_context& rsa, u8 const* sig, size_t sig_len, u8 const (&digest)[kDigestBytes]) {
    return sig_len == mbedtls_rsa_get_len(&rsa) &&
           mbedtls_rsa_rsassa_pss_verify_ext(&rsa, nullptr, nullptr, MBEDTLS_RSA_PUBLIC, MBEDTLS_MD_SHA256,
                                             kDigestBytes, digest, MBEDTLS_MD_SHA256, kPssSaltBytes, sig) == 0;
}

}  // namespace

char const* to_string(CertCheck c) {
    switch (c) {
        case CertCheck::Ok:
            return "ok";
        case CertCheck::Malformed:
            return "malformed certificate or AUTH data";
        case CertCheck::WrongCa:
            return "certificate not issued by the pinned CA";
        case CertCheck::WrongIdentity:
            return "certificate or IDr does not name the expected identity";
        case CertCheck::BadSignature:
            return "AUTH signature does not verify";
        case CertCheck::Unsupported:
            return "unsupported signature scheme or key type";
    }
    return "?";
}

char const* to_string(SigScheme s) {
    switch (s) {
        case SigScheme::RsaPkcs1Sha256:
            return "RSASSA-PKCS1-v1_5 SHA-256";
        case SigScheme::RsaPssSha256:
            return "RSASSA-PSS SHA-256 MGF1-SHA-256 salt 32";
        case SigScheme::EcdsaP256Sha256:
            return "ECDSA P-256 SHA-256";
    }
    return "?";
}

bool parse_certificate(mbedtls_x509_crt* chain, u8 const* data, size_t len) {
    if (data == nullptr || len == 0)
        return false;
    if (!is_pem(data, len))
        return mbedtls_x509_crt_parse_der(chain, data, len) == 0;
    // mbedTLS wants PEM NUL-terminated, with the NUL counted; a module need not end in one.
    auto* const tmp = static_cast<u8*>(mbedtls_calloc(1, len + 1));
    if (tmp == nullptr)
        return false;
    for (size_t i = 0; i < len; ++i)
        tmp[i] = data[i];
    bool const ok = mbedtls_x509_crt_parse(chain, tmp, len + 1) == 0;
    mbedtls_free(tmp);
    return ok;
}

size_t encode_signature_auth(SigScheme s, u8 const* sig, size_t sig_len, u8* out, size_t cap) {
    u8 const* id = s == SigScheme::RsaPkcs1Sha256 ? kRsaSha256
                   : s == SigScheme::RsaPssSha256 ? kRsaPssSha256
                                                  : kEcdsaSha256;
    size_t const id_len = s == SigScheme::RsaPkcs1Sha256 ? sizeof kRsaSha256
                          : s == SigScheme::RsaPssSha256 ? sizeof kRsaPssSha256
                                                         : sizeof kEcdsaSha256;
    if (sig_len == 0 || 1 + id_len + sig_len > cap)
        return 0;
    out[0] = static_cast<u8>(id_len);
    for (size_t i = 0; i < id_len; ++i)
        out[1 + i] = id[i];
    for (size_t i = 0; i < sig_len; ++i)
        out[1 + id_len + i] = sig[i];
    return 1 + id_len + sig_len;
}

CertCheck decode_signature_auth(u8 const* data, size_t len, SigScheme& s, u8 const*& sig,
                                size_t& sig_len) {
    if (len < 2 || static_cast<size_t>(data[0]) + 2 > len)
        return CertCheck::Malformed;
    size_t const id_len = data[0];
    u8 const* const id = data + 1;
    if (same(id, id_len, kRsaSha256) || same(id, id_len, kRsaSha256NoParams))
        s = SigScheme::RsaPkcs1Sha256;
    else if (same(id, id_len, kEcdsaSha256))
        s = SigScheme::EcdsaP256Sha256;
    else if (same(id, id_len, kRsaPssSha256) || same(id, id_len, kRsaPssSha256NoNull))
        s = SigScheme::RsaPssSha256;
    else
        return CertCheck::Unsupported;
    sig = data + 1 + id_len;
    sig_len = len - 1 - id_len;
    return CertCheck::Ok;
}

PeerVerifier::PeerVerifier() {
    mbedtls_x509_crt_init(&ca_);
    mbedtls_x509_crt_init(&peer_);
}

PeerVerifier::~PeerVerifier() {
    mbedtls_x509_crt_free(&ca_);
    mbedtls_x509_crt_free(&peer_);
}

Status PeerVerifier::pin(u8 const* ca, size_t len) {
    mbedtls_x509_crt_free(&ca_);
    mbedtls_x509_crt_init(&ca_);
    pinned_ = false;
    if (!parse_certificate(&ca_, ca, len) || ca_.next != nullptr || ca_.ca_istrue == 0 ||
        mbedtls_sha1_ret(ca_.pk_raw.p, ca_.pk_raw.len, authority_) != 0) {
        mbedtls_x509_crt_free(&ca_);
        mbedtls_x509_crt_init(&ca_);
        return Status::Invalid;
    }
    pinned_ = true;
    return Status::Ok;
}

void PeerVerifier::forget() {
    mbedtls_x509_crt_free(&peer_);
    mbedtls_x509_crt_init(&peer_);
    checked_ = false;
}

// Whether the certificate names the identity: an FQDN, an e-mail address or an IPv4 address
// among its subjectAltNames, a DN as its subject.
bool PeerVerifier::names(mbedtls_x509_crt const& crt, u8 type, u8 const* want,
                         size_t want_len) const {
    if (type == idtype::kDerAsn1Dn) {
        char dn[256];
        int const n = mbedtls_x509_dn_gets(dn, sizeof dn, &crt.subject);
        return n > 0 && same_nocase(reinterpret_cast<u8 const*>(dn), static_cast<size_t>(n),
                                    want, want_len);
    }
    int const tag = type == idtype::kFqdn     ? 2
                    : type == idtype::kRfc822 ? 1
                    : type == idtype::kIpv4   ? 7
                                              : -1;
    if (tag < 0)
        return false;
    for (mbedtls_x509_sequence const* s = &crt.subject_alt_names; s != nullptr; s = s->next) {
        if (s->buf.p == nullptr || s->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag))
            continue;
        if (type == idtype::kIpv4 ? s->buf.len == 4 && same_nocase(s->buf.p, 4, want, want_len)
                                  : same_nocase(s->buf.p, s->buf.len, want, want_len))
            return true;
    }
    return false;
}

CertCheck PeerVerifier::check(u8 const* const* certs, size_t const* lens, size_t n, u8 const* idr,
                              size_t idr_len, u8 want_type, u8 const* want, size_t want_len) {
    forget();
    if (!pinned_ || n == 0 || n > kMaxPeerCerts || idr_len < 4)
        return CertCheck::Malformed;
    for (size_t i = 0; i < n; ++i) {
        bool good = lens[i] != 0 && mbedtls_x509_crt_parse_der(&peer_, certs[i], lens[i]) == 0;
        mbedtls_x509_crt const* last = &peer_;
        while (good && last->next != nullptr)
            last = last->next;
        if (!good || last->raw.len != lens[i]) {  // mbedTLS ignores bytes after the certificate
            forget();
            return CertCheck::Malformed;
        }
    }
    u32 flags = 0;
    if (mbedtls_x509_crt_verify_with_profile(&peer_, &ca_, nullptr, &kProfile, nullptr, &flags,
                                             nullptr, nullptr) != 0) {
        forget();
        return CertCheck::WrongCa;
    }
    // IDr must be the expected identity, and the certificate must name it: a DN as IDr is the
    // certificate's subject, byte for byte.
    u8 const* const id = idr + 4;
    size_t const id_len = idr_len - 4;
    bool good = idr[0] == want_type && names(peer_, want_type, want, want_len);
    if (good && want_type == idtype::kDerAsn1Dn)
        good = id_len == peer_.subject_raw.len &&
               same_nocase(id, id_len, peer_.subject_raw.p, peer_.subject_raw.len);
    else if (good)
        good = same_nocase(id, id_len, want, want_len);
    if (!good) {
        forget();
        return CertCheck::WrongIdentity;
    }
    checked_ = true;
    return CertCheck::Ok;
}

CertCheck PeerVerifier::verify(u8 const* auth, size_t auth_len, u8 const (&digest)[kDigestBytes]) {
    SigScheme s{};
    u8 const* sig = nullptr;
    size_t sig_len = 0;
    if (!checked_)
        return CertCheck::Malformed;
    CertCheck const c = decode_signature_auth(auth, auth_len, s, sig, sig_len);
    if (c != CertCheck::Ok)
        return c;
    mbedtls_pk_context* const pk = &peer_.pk;
    bool const fits =
        s != SigScheme::EcdsaP256Sha256
            ? mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA
            : mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) != 0 &&
                  mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
    if (!fits)
        return CertCheck::Unsupported;
    if (s == SigScheme::RsaPssSha256)
        return verify_pss(*mbedtls_pk_rsa(*pk), sig, sig_len, digest) ? CertCheck::Ok : CertCheck::BadSignature;
    return mbedtls_pk_verify(pk, MBEDTLS_MD_SHA256, digest, kDigestBytes, sig, sig_len) == 0
               ? CertCheck::Ok
               : CertCheck::BadSignature;
}

}  // namespace tv::vpn::ike
