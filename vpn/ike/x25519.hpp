// X25519 (RFC 7748 §5), IKE's DH group 31 (RFC 8031): the Montgomery ladder on Curve25519 with
// field elements in five 51-bit limbs and 128-bit products. Written for speed under QEMU's TCG,
// where mbedTLS's generic bignums made one scalar multiplication cost milliseconds on the IKE
// set-up path; constant-time (no branch or index depends on the scalar or the point). Pure
// integer code: it runs in the monitor without the FPU guard.
#pragma once

#include "core/types.hpp"

namespace tv::vpn::ike {

inline constexpr size_t kX25519Bytes = 32;

// out = X25519(scalar, u): the scalar is clamped and the u-coordinate's top bit masked here, as
// RFC 7748 §5 says. out may alias neither input.
void x25519(u8 (&out)[kX25519Bytes], u8 const (&scalar)[kX25519Bytes], u8 const (&u)[kX25519Bytes]);
// The public value: X25519(scalar, 9).
void x25519_base(u8 (&out)[kX25519Bytes], u8 const (&scalar)[kX25519Bytes]);

}  // namespace tv::vpn::ike
