#include "vpn/ike/dh.hpp"

#include <mbedtls/ecdh.h>

#include "crypto/secure_zero.hpp"
#include "vpn/ike/constants.hpp"
#include "vpn/ike/x25519.hpp"

namespace tv::vpn::ike {

namespace {

int rng_adapter(void* ctx, unsigned char* out, size_t n) {
    auto const* r = static_cast<crypto::Random const*>(ctx);
    return (*r)(out, n) ? 0 : -1;
}

constexpr u8 kModp2048P[] = MBEDTLS_DHM_RFC3526_MODP_2048_P_BIN;
constexpr u8 kModp2048G[] = MBEDTLS_DHM_RFC3526_MODP_2048_G_BIN;
// A 512-bit private exponent: twice the group's ~110-bit strength with margin (RFC 3526 §8,
// NIST SP 800-56A), and eight times cheaper than a full-size one.
constexpr int kModpExponentBytes = 64;

}  // namespace

bool dh_supported(u16 g) {
    return g == group::kCurve25519 || g == group::kEcp256 || g == group::kModp2048;
}

size_t dh_public_len(u16 g) {
    switch (g) {
        case group::kCurve25519:
            return 32;
        case group::kEcp256:
            return 64;
        case group::kModp2048:
            return 256;
        default:
            return 0;
    }
}

Dh::Dh() {
    mbedtls_ecp_group_init(&grp_);
    mbedtls_mpi_init(&d_);
    mbedtls_ecp_point_init(&q_);
    mbedtls_dhm_init(&dhm_);
}

Dh::~Dh() {
    clear();
}

void Dh::clear() {
    mbedtls_ecp_group_free(&grp_);
    mbedtls_mpi_free(&d_);  // mbedTLS zeroes limbs before freeing them
    mbedtls_ecp_point_free(&q_);
    mbedtls_dhm_free(&dhm_);
    mbedtls_ecp_group_init(&grp_);
    mbedtls_mpi_init(&d_);
    mbedtls_ecp_point_init(&q_);
    mbedtls_dhm_init(&dhm_);
    crypto::secure_zero(x25519_secret_, sizeof x25519_secret_);
    group_ = 0;
}

size_t Dh::secret_len() const {
    return group_ == group::kModp2048 ? 256 : group_ == 0 ? 0 : 32;
}

bool Dh::start(u16 g, crypto::Random const& rng, u8* pub, size_t cap) {
    clear();
    size_t const plen = dh_public_len(g);
    if (plen == 0 || cap < plen)
        return false;
    group_ = g;
    rng_ = rng;
    void* const r = &rng_;
    if (g == group::kModp2048) {
        mbedtls_mpi p, gen;
        mbedtls_mpi_init(&p);
        mbedtls_mpi_init(&gen);
        bool ok =
            mbedtls_mpi_read_binary(&p, kModp2048P, sizeof kModp2048P) == 0 &&
            mbedtls_mpi_read_binary(&gen, kModp2048G, sizeof kModp2048G) == 0 &&
            mbedtls_dhm_set_group(&dhm_, &p, &gen) == 0 &&
            mbedtls_dhm_make_public(&dhm_, kModpExponentBytes, pub, plen, rng_adapter, r) == 0;
        mbedtls_mpi_free(&p);
        mbedtls_mpi_free(&gen);
        return ok;
    }
    if (g == group::kCurve25519) {  // our own ladder (x25519.hpp): mbedTLS's costs ms under TCG
        u8 out[kX25519Bytes];
        if (!rng_(x25519_secret_, sizeof x25519_secret_))
            return false;
        x25519_base(out, x25519_secret_);
        for (size_t i = 0; i < kX25519Bytes; ++i)
            pub[i] = out[i];
        return true;
    }
    if (mbedtls_ecp_group_load(&grp_, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
        mbedtls_ecdh_gen_public(&grp_, &d_, &q_, rng_adapter, r) != 0)
        return false;
    return mbedtls_mpi_write_binary(&q_.X, pub, 32) == 0 &&
           mbedtls_mpi_write_binary(&q_.Y, pub + 32, 32) == 0;
}

bool Dh::finish(u8 const* peer, size_t len, u8* secret, size_t cap) {
    size_t const slen = secret_len();
    if (slen == 0 || cap < slen || len != dh_public_len(group_))
        return false;
    void* const r = &rng_;
    if (group_ == group::kModp2048) {
        size_t olen = 0;
        if (mbedtls_dhm_read_public(&dhm_, peer, len) != 0 ||
            mbedtls_dhm_calc_secret(&dhm_, secret, cap, &olen, rng_adapter, r) != 0 || olen > slen)
            return false;
        // Left-pad to the modulus length: IKE hashes g^ir at its full size (RFC 7296 §2.14).
        size_t const shift = slen - olen;
        for (size_t i = olen; i-- > 0;)
            secret[i + shift] = secret[i];
        for (size_t i = 0; i < shift; ++i)
            secret[i] = 0;
        return true;
    }
    if (group_ == group::kCurve25519) {
        // x25519 ignores the u-coordinate's top bit (RFC 7748 §5); a small-order point gives
        // the all-zero secret, refused (RFC 8031 §2.3).
        u8 u[kX25519Bytes], s[kX25519Bytes];
        for (size_t i = 0; i < kX25519Bytes; ++i)
            u[i] = peer[i];
        x25519(s, x25519_secret_, u);
        u8 any = 0;
        for (size_t i = 0; i < kX25519Bytes; ++i) {
            secret[i] = s[i];
            any = static_cast<u8>(any | s[i]);
        }
        crypto::secure_zero(s, sizeof s);
        if (any == 0)
            crypto::secure_zero(secret, slen);
        return any != 0;
    }
    mbedtls_ecp_point qp;
    mbedtls_mpi z;
    mbedtls_ecp_point_init(&qp);
    mbedtls_mpi_init(&z);
    bool ok = mbedtls_mpi_read_binary(&qp.X, peer, 32) == 0 &&
              mbedtls_mpi_read_binary(&qp.Y, peer + 32, 32) == 0 && mbedtls_mpi_lset(&qp.Z, 1) == 0;
    ok = ok && mbedtls_ecp_check_pubkey(&grp_, &qp) == 0 &&
         mbedtls_ecdh_compute_shared(&grp_, &z, &qp, &d_, rng_adapter, r) == 0;
    if (ok)
        ok = mbedtls_mpi_write_binary(&z, secret, 32) == 0;
    mbedtls_ecp_point_free(&qp);
    mbedtls_mpi_free(&z);
    if (!ok)
        crypto::secure_zero(secret, slen);
    return ok;
}

}  // namespace tv::vpn::ike
