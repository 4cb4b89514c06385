// X25519 (vpn/ike/x25519.cpp) against RFC 7748's vectors (§5.2 and the §6.1 key exchange) and
// against mbedTLS's Curve25519 over random scalars and points.
#include <gtest/gtest.h>
#include <mbedtls/ecdh.h>

#include <cstring>
#include <string>

#include "vpn/ike/x25519.hpp"

using namespace tv;
using namespace tv::vpn::ike;

namespace {

using Key = u8[kX25519Bytes];

void hex(char const* h, Key& out) {
    for (size_t i = 0; i < kX25519Bytes; ++i)
        out[i] = static_cast<u8>(std::stoi(std::string(h + 2 * i, 2), nullptr, 16));
}

bool same(Key const& a, char const* h) {
    Key b;
    hex(h, b);
    return memcmp(a, b, kX25519Bytes) == 0;
}

}  // namespace

TEST(IkeX25519, Rfc7748Section52Vectors) {
    Key k, u, out;
    hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", k);
    hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", u);
    x25519(out, k, u);
    EXPECT_TRUE(same(out, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"));
    hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", k);
    hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", u);  // top bit set: ignored
    x25519(out, k, u);
    EXPECT_TRUE(same(out, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"));
}

TEST(IkeX25519, Rfc7748IteratedThousandTimes) {
    Key k{9}, u{9}, out;
    for (int i = 0; i < 1000; ++i) {
        x25519(out, k, u);
        memcpy(u, k, sizeof u);
        memcpy(k, out, sizeof k);
        if (i == 0) {
            EXPECT_TRUE(same(k, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"));
        }
    }
    EXPECT_TRUE(same(k, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"));
}

TEST(IkeX25519, Rfc7748Section61KeyExchange) {
    Key a, b, pa, pb, s1, s2;
    hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a);
    hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b);
    x25519_base(pa, a);
    x25519_base(pb, b);
    EXPECT_TRUE(same(pa, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
    EXPECT_TRUE(same(pb, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
    x25519(s1, a, pb);
    x25519(s2, b, pa);
    EXPECT_TRUE(same(s1, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
    EXPECT_EQ(memcmp(s1, s2, sizeof s1), 0);
}

TEST(IkeX25519, AgreesWithMbedTlsOnRandomScalarsAndPoints) {
    mbedtls_ecp_group grp;
    mbedtls_ecp_group_init(&grp);
    ASSERT_EQ(mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_CURVE25519), 0);
    u32 state = 12345;
    auto next = [&] {
        state = state * 1103515245u + 12345u;
        return static_cast<u8>(state >> 16);
    };
    for (int i = 0; i < 64; ++i) {
        Key k, u, ours, theirs;
        for (auto& b : k)
            b = next();
        for (auto& b : u)
            b = next();
        if (i % 8 == 0)
            memset(u, 0xff, sizeof u);  // a u-coordinate above p: reduced, as RFC 7748 allows
        x25519(ours, k, u);
        Key kc, uc;
        memcpy(kc, k, sizeof k);
        memcpy(uc, u, sizeof u);
        kc[0] &= 248;
        kc[31] = static_cast<u8>((kc[31] & 127) | 64);
        uc[31] &= 127;
        mbedtls_mpi d, z;
        mbedtls_ecp_point q;
        mbedtls_mpi_init(&d);
        mbedtls_mpi_init(&z);
        mbedtls_ecp_point_init(&q);
        ASSERT_EQ(mbedtls_mpi_read_binary_le(&d, kc, 32), 0);
        ASSERT_EQ(mbedtls_mpi_read_binary_le(&q.X, uc, 32), 0);
        ASSERT_EQ(mbedtls_mpi_lset(&q.Z, 1), 0);
        // X25519 on the reduced u: mbedTLS wants u < p, which is the same point
        mbedtls_mpi p;
        mbedtls_mpi_init(&p);
        ASSERT_EQ(mbedtls_mpi_copy(&p, &grp.P), 0);
        if (mbedtls_mpi_cmp_mpi(&q.X, &p) >= 0) {
            ASSERT_EQ(mbedtls_mpi_sub_mpi(&q.X, &q.X, &p), 0);
        }
        ASSERT_EQ(mbedtls_ecdh_compute_shared(&grp, &z, &q, &d, nullptr, nullptr), 0) << i;
        ASSERT_EQ(mbedtls_mpi_write_binary_le(&z, theirs, 32), 0);
        EXPECT_EQ(memcmp(ours, theirs, 32), 0) << i;
        mbedtls_mpi_free(&d);
        mbedtls_mpi_free(&z);
        mbedtls_mpi_free(&p);
        mbedtls_ecp_point_free(&q);
    }
    mbedtls_ecp_group_free(&grp);
}
