// RSASSA-PSS signing (RFC 8017 §8.1, the EMSA-PSS encoding of §9.1.1) with SHA-256,
// MGF1-SHA-256 and a 32-byte salt: RFC 7427 AUTH method 14 under the RSASSA-PSS
// AlgorithmIdentifier, which RFC 8247 recommends over PKCS#1 v1.5. The encoding is done here;
// only the raw RSA private-key operation is the Signer's (Signer::rsa_raw), so a smart card that
// does raw RSA and nothing else signs PSS the same way as a key from a file.
#pragma once

#include "crypto/random.hpp"
#include "vpn/ike/signer.hpp"

namespace tv::vpn::ike {

inline constexpr size_t kPssSaltBytes = 32;  // the hash's length, strongSwan's default

// EM = maskedDB | H | 0xbc for a modulus of mod_bits bits, written left-padded with zero bytes
// to the modulus' length (the block RSASP1 takes). Returns that length, 0 if the modulus is too
// small for SHA-256 and the salt or the block does not fit in cap.
[[nodiscard]] size_t emsa_pss_encode(u8 const (&digest)[kDigestBytes], u8 const (&salt)[kPssSaltBytes],
                                     size_t mod_bits, u8* out, size_t cap);

// A PSS signature of a SHA-256 digest with a fresh salt: the block above, then the signer's raw
// RSA operation. Returns the signature's length (the modulus'), 0 on any failure (no RSA key,
// no entropy, the signer refused).
[[nodiscard]] size_t sign_rsa_pss(Signer& signer, u8 const (&digest)[kDigestBytes], crypto::Random rng, u8* out,
                                  size_t cap);

}  // namespace tv::vpn::ike
