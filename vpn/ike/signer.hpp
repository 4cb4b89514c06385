// Our side of certificate authentication: whatever signs our AUTH (RFC 7427 digital
// signature with SHA-256, or for a gateway without RFC 7427 the classic methods of RFC 7296
// §3.8: 1, RSA over SHA-1, and 9, ECDSA P-256 over SHA-256, RFC 4754). The initiator sees only this interface, so that a smart card can later
// sign with a key that never leaves it; FileSigner (vpn/ike/file_signer.hpp) signs with a key
// loaded from a boot module.
#pragma once

#include "core/types.hpp"

namespace tv::vpn::ike {

// The signature schemes the initiator signs and verifies with (RFC 7427 §3, SHA-256 only).
enum class SigScheme : u8 {
    RsaPkcs1Sha256,   // sha256WithRSAEncryption: an RSASSA-PKCS1-v1_5 block
    EcdsaP256Sha256,  // ecdsa-with-SHA256 on P-256: a DER ECDSA-Sig-Value
    // RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt (vpn/ike/pss.hpp): what an RSA key signs
    // with `rsa_signature = pss`; a signer's scheme() is never this (it names the key's kind).
    RsaPssSha256,
};

inline constexpr size_t kDigestBytes = 32;     // SHA-256
inline constexpr size_t kSha1Bytes = 20;       // AUTH method 1's digest
inline constexpr size_t kMaxSignature = 512;   // RSA-4096
inline constexpr size_t kMaxCertBytes = 2048;  // one DER certificate in a CERT payload

class Signer {
  public:
    virtual SigScheme scheme() const = 0;
    // Our certificate (DER), sent in the CERT payload; nullptr if there is none.
    virtual u8 const* certificate(size_t& len) const = 0;
    // Signs a SHA-256 digest in the encoding of scheme(). Returns the signature's length, 0 on
    // failure (logged by the caller).
    [[nodiscard]] virtual size_t sign(u8 const (&digest)[kDigestBytes], u8* out, size_t cap) = 0;
    // AUTH method 1 (RSA Digital Signature, RFC 7296 §3.8): an RSASSA-PKCS1-v1_5 block over a
    // SHA-1 digest, the hash that method fixes. RSA keys only: 0 for any other key.
    [[nodiscard]] virtual size_t sign_sha1(u8 const (&digest)[kSha1Bytes], u8* out, size_t cap) = 0;
    // RSA keys, for RSASSA-PSS encoded by the caller (vpn/ike/pss.hpp): the modulus' bits, and
    // the raw private-key operation (RSASP1, RFC 8017 §5.2.1) on a block of the modulus' length,
    // which is all a card's SIGN does. Returns the result's length; 0 (the default) for another
    // kind of key or a signer that cannot.
    virtual size_t rsa_bits() const { return 0; }
    [[nodiscard]] virtual size_t rsa_raw(u8 const*, size_t, u8*, size_t) { return 0; }

  protected:
    ~Signer() = default;
};

}  // namespace tv::vpn::ike
