// The IKEv2 key schedule (RFC 7296 §2.13, §2.14, §2.17) with PRF_HMAC_SHA2_256 and AES-GCM-16:
// SKEYSEED = prf(Ni | Nr, g^ir); SK_d | SK_ei | SK_er | SK_pi | SK_pr = prf+(SKEYSEED,
// Ni | Nr | SPIi | SPIr), with no SK_a (an AEAD needs no integrity keys) and each SK_e being
// the AES key followed by its 4-byte salt (RFC 5282 §7.1). Child SA KEYMAT = prf+(SK_d,
// Ni | Nr), initiator-to-responder key and salt first (RFC 4106 §8.1).
#pragma once

#include "core/types.hpp"
#include "vpn/ike/sk.hpp"

namespace tv::vpn::ike {

inline constexpr size_t kPrfBytes = 32;

struct Bytes {
    u8 const* p;
    size_t n;
};

// prf(key, parts[0] | parts[1] | ...) with HMAC-SHA2-256. False only if mbedTLS fails.
[[nodiscard]] bool prf(u8 const* key, size_t key_len, Bytes const* parts, size_t nparts,
                       u8 (&out)[kPrfBytes]);

// prf+ (§2.13): T1 | T2 | ... truncated to out_len (at most 255 blocks).
[[nodiscard]] bool prf_plus(u8 const* key, size_t key_len, Bytes const* seed, size_t nseed, u8* out,
                            size_t out_len);

struct IkeKeys {
    u8 sk_d[kPrfBytes];
    SkKey sk_ei, sk_er;
    u8 sk_pi[kPrfBytes];
    u8 sk_pr[kPrfBytes];
    void wipe();
};

// With old_sk_d, the keys of an IKE SA rekeyed from one whose SK_d that is (§2.18).
[[nodiscard]] bool derive_ike_keys(u8 const* ni, size_t ni_len, u8 const* nr, size_t nr_len,
                                   u8 const* gir, size_t gir_len, u64 spi_i, u64 spi_r, u8 key_len,
                                   IkeKeys& out, u8 const* old_sk_d = nullptr);

// One direction of an ESP SA with AES-GCM (RFC 4106): key then salt.
struct ChildKeys {
    SkKey i_to_r, r_to_i;
    void wipe();
};
[[nodiscard]] bool derive_child_keys(u8 const* sk_d, u8 const* ni, size_t ni_len, u8 const* nr,
                                     size_t nr_len, u8 key_len, ChildKeys& out);

// The PSK's pad key prf(PSK, "Key Pad for IKEv2"): all AUTH computations need only this, so
// the PSK itself can be wiped once it is computed.
[[nodiscard]] bool psk_pad_key(u8 const* psk, size_t psk_len, u8 (&out)[kPrfBytes]);

// AUTH = prf(pad_key, signed_message | nonce | prf(SK_p, id_body)) (§2.15); id_body is the
// ID payload after its generic header (type, reserved, data).
[[nodiscard]] bool psk_auth(u8 const (&pad_key)[kPrfBytes], u8 const* msg, size_t msg_len,
                            u8 const* nonce, size_t nonce_len, u8 const (&sk_p)[kPrfBytes],
                            u8 const* id_body, size_t id_len, u8 (&out)[kPrfBytes]);

// SHA-256 of the same signed octets, for a signature AUTH (RFC 7427 with SHA-256): the
// digest a Signer signs and the gateway's signature is checked against.
[[nodiscard]] bool signed_digest(u8 const* msg, size_t msg_len, u8 const* nonce, size_t nonce_len,
                                 u8 const (&sk_p)[kPrfBytes], u8 const* id_body, size_t id_len,
                                 u8 (&out)[kPrfBytes]);
// SHA-1 of the same signed octets, for AUTH method 1 (RSA Digital Signature, RFC 7296 §3.8),
// whose hash is fixed to SHA-1 for a gateway without RFC 7427.
[[nodiscard]] bool signed_digest_sha1(u8 const* msg, size_t msg_len, u8 const* nonce,
                                      size_t nonce_len, u8 const (&sk_p)[kPrfBytes],
                                      u8 const* id_body, size_t id_len, u8 (&out)[20]);

}  // namespace tv::vpn::ike
