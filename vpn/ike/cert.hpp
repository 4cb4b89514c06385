// The gateway's side of certificate authentication: its certificate checked against one CA
// certificate pinned in the configuration (the chain may hold one intermediate between them)
// and against the identity we expect (its IDr and the certificate's subjectAltName or subject
// must both name it), then its AUTH verified with the certificate's key. Also the RFC 7427
// AUTH encoding (the AlgorithmIdentifier before the signature) both ways.
//
// Validity dates are NOT checked: the monitor has no trusted calendar (MBEDTLS_HAVE_TIME_DATE
// is off), so an expired or not-yet-valid certificate passes (docs/vpn.md, docs/security.md).
#pragma once

#include <mbedtls/x509_crt.h>

#include "core/types.hpp"
#include "vpn/ike/signer.hpp"

namespace tv::vpn::ike {

enum class CertCheck : u8 {
    Ok,
    Malformed,       // a certificate or the AUTH data does not parse
    WrongCa,         // the chain does not end at the pinned CA (or breaks a CA constraint)
    WrongIdentity,   // IDr or the certificate does not name the expected identity
    BadSignature,    // the AUTH signature does not verify with the certificate's key
    Unsupported,     // a signature scheme or key type we do not take
};
char const* to_string(CertCheck c);

inline constexpr u8 kCertX509Signature = 4;  // CERT/CERTREQ encoding (RFC 7296 §3.6)
inline constexpr u8 kAuthDigitalSignature = 14;  // RFC 7427
// The classic methods, for a gateway without RFC 7427 (RFC 7296 §3.8; the hash is the
// method's, not negotiated): RSASSA-PKCS1-v1_5 over SHA-1, and ECDSA on P-256 over SHA-256
// whose AUTH data is r | s, 32 bytes each (RFC 4754 §7), not DER.
inline constexpr u8 kAuthRsaSignature = 1;
inline constexpr u8 kAuthEcdsaP256 = 9;
inline constexpr size_t kEcdsaP256Raw = 64;
inline constexpr size_t kAuthorityBytes = 20;    // SHA-1 of a SubjectPublicKeyInfo
inline constexpr size_t kMaxPeerCerts = 2;       // end entity and one intermediate

// "RSASSA-PKCS1-v1_5 SHA-256", "RSASSA-PSS SHA-256 MGF1-SHA-256 salt 32", "ECDSA P-256 SHA-256".
char const* to_string(SigScheme s);

// Parses a certificate, PEM or DER, onto the end of `chain`. False if it does not parse.
[[nodiscard]] bool parse_certificate(mbedtls_x509_crt* chain, u8 const* data, size_t len);

// RFC 7427 AUTH data: a length byte, the scheme's AlgorithmIdentifier, the signature. Returns
// the length written, 0 if it does not fit.
[[nodiscard]] size_t encode_signature_auth(SigScheme s, u8 const* sig, size_t sig_len, u8* out,
                                           size_t cap);
// The reverse; Unsupported for an AlgorithmIdentifier other than the three schemes we know
// (RSASSA-PSS only with SHA-256, MGF1-SHA-256 and a 32-byte salt).
[[nodiscard]] CertCheck decode_signature_auth(u8 const* data, size_t len, SigScheme& s,
                                              u8 const*& sig, size_t& sig_len);

// An ECDSA-Sig-Value in DER (what mbedTLS signs and verifies) to RFC 4754's r | s and back.
// False or 0 if malformed (or r, s longer than 32 bytes).
[[nodiscard]] bool ecdsa_der_to_raw(u8 const* der, size_t len, u8 (&raw)[kEcdsaP256Raw]);
[[nodiscard]] size_t ecdsa_raw_to_der(u8 const (&raw)[kEcdsaP256Raw], u8* out, size_t cap);

class PeerVerifier {
  public:
    PeerVerifier();
    ~PeerVerifier();
    PeerVerifier(PeerVerifier const&) = delete;
    PeerVerifier& operator=(PeerVerifier const&) = delete;

    // Pins the CA certificate (PEM or DER). Refused if it does not parse or is not a CA.
    [[nodiscard]] Status pin(u8 const* ca, size_t len);
    bool pinned() const { return pinned_; }
    // The CERTREQ authority: SHA-1 of the pinned CA's SubjectPublicKeyInfo (RFC 7296 §3.7).
    u8 const* authority() const { return authority_; }

    // The gateway's CERT payload bodies' certificates (end entity first), its IDr payload body
    // (type, 3 reserved bytes, data) and the identity we expect (idtype:: and its bytes; for a
    // DN, its text as mbedTLS prints it: "C=CH, O=Org, CN=gw"). On Ok the end-entity
    // certificate is kept for verify().
    [[nodiscard]] CertCheck check(u8 const* const* certs, size_t const* lens, size_t n,
                                  u8 const* idr, size_t idr_len, u8 want_type, u8 const* want,
                                  size_t want_len);
    // The gateway's AUTH data (RFC 7427) over the SHA-256 digest of its signed octets, with
    // the key of the certificate check() accepted.
    [[nodiscard]] CertCheck verify(u8 const* auth, size_t auth_len,
                                   u8 const (&digest)[kDigestBytes]);
    // The classic methods (kAuthRsaSignature with a SHA-1 digest, kAuthEcdsaP256 with a
    // SHA-256 one): the AUTH data is the bare signature, the key must be of the method's kind
    // (else Unsupported). vpn/ike/cert_classic.cpp.
    [[nodiscard]] CertCheck verify_classic(u8 method, u8 const* sig, size_t sig_len,
                                           u8 const* digest, size_t digest_len);
    void forget();  // drops the gateway's certificates

  private:
    [[nodiscard]] bool names(mbedtls_x509_crt const& crt, u8 type, u8 const* want,
                             size_t want_len) const;
    mbedtls_x509_crt ca_;
    mbedtls_x509_crt peer_;
    bool pinned_ = false;
    bool checked_ = false;
    u8 authority_[kAuthorityBytes] = {};
};

}  // namespace tv::vpn::ike
