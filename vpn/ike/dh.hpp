// The three Diffie-Hellman groups IKE offers, on mbedTLS, with their wire encodings:
//   31 Curve25519 (RFC 8031): public value and shared secret are 32 little-endian bytes; an
//      all-zero secret (a small-order peer point) is refused. Our own X25519 (x25519.hpp), not
//      mbedTLS's: the set-up time under TCG.
//   19 ECP-256 (RFC 5903): public value x | y, 64 bytes, without the 0x04 prefix of SEC1; the
//      secret is x, 32 bytes; the peer's point is checked to be on the curve.
//   14 MODP-2048 (RFC 3526): public value and secret are 256 bytes, left-padded (mbedTLS
//      returns the secret at its minimal length); the peer's value must be in [2, p-2].
#pragma once

#include <mbedtls/dhm.h>
#include <mbedtls/ecp.h>

#include "core/types.hpp"
#include "crypto/random.hpp"

namespace tv::vpn::ike {

inline constexpr size_t kMaxKeBytes = 256;

[[nodiscard]] bool dh_supported(u16 group);
size_t dh_public_len(u16 group);  // 0 for an unsupported group

class Dh final {
  public:
    Dh();
    ~Dh();
    Dh(Dh const&) = delete;
    Dh& operator=(Dh const&) = delete;

    // Makes a fresh private value for `group` and writes the public one (dh_public_len bytes).
    [[nodiscard]] bool start(u16 group, crypto::Random const& rng, u8* pub, size_t cap);
    // The shared secret g^ir (secret_len() bytes) from the peer's public value.
    [[nodiscard]] bool finish(u8 const* peer, size_t len, u8* secret, size_t cap);
    size_t secret_len() const;
    u16 group() const { return group_; }
    void clear();

  private:
    u16 group_ = 0;
    crypto::Random rng_{};
    mbedtls_ecp_group grp_;
    mbedtls_mpi d_;
    mbedtls_ecp_point q_;
    mbedtls_dhm_context dhm_;
    u8 x25519_secret_[32] = {};  // group 31 (vpn/ike/x25519.cpp)
};

}  // namespace tv::vpn::ike
