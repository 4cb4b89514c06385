// The IKE key schedule (vpn/ike/keys) and DH groups (vpn/ike/dh) against known answers; see
// test_ike_vectors.hpp for where each vector comes from.
#include <gtest/gtest.h>
#include <string.h>

#include "tests/unit/test_ike_vectors.hpp"
#include "vpn/ike/constants.hpp"
#include "vpn/ike/dh.hpp"
#include "vpn/ike/keys.hpp"

using namespace tv;
using namespace tv::vpn::ike;
using namespace ike_vectors;

namespace {

// Hands out `fixed` first, then a counter (mbedTLS also draws blinding values).
struct FixedRng {
    u8 const* fixed;
    size_t len;
    size_t pos = 0;
    u8 counter = 1;
    static bool fill(void* ctx, u8* out, u64 n) {
        auto* r = static_cast<FixedRng*>(ctx);
        for (u64 i = 0; i < n; ++i)
            out[i] = r->pos < r->len ? r->fixed[r->pos++] : r->counter++;
        return true;
    }
    crypto::Random random() { return crypto::Random{&FixedRng::fill, this}; }
};

template <size_t N>
void expect_bytes(u8 const* got, u8 const (&want)[N], size_t n = N) {
    EXPECT_EQ(memcmp(got, want, n), 0);
}

}  // namespace

TEST(IkeKeys, PrfIsHmacSha256PerRfc4231) {
    char const key[] = "Jefe";
    char const data[] = "what do ya want for nothing?";
    Bytes const part{reinterpret_cast<u8 const*>(data), sizeof data - 1};
    u8 out[kPrfBytes];
    ASSERT_TRUE(prf(reinterpret_cast<u8 const*>(key), 4, &part, 1, out));
    u8 const want[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                       0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                       0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    expect_bytes(out, want);
}

TEST(IkeKeys, PrfPlusChainsBlocksAndTruncates) {
    u8 out[100];
    Bytes const seed{reinterpret_cast<u8 const*>("seed"), 4};
    ASSERT_TRUE(prf_plus(reinterpret_cast<u8 const*>("key"), 3, &seed, 1, out, sizeof out));
    expect_bytes(out, kPrfPlus100);
}

TEST(IkeKeys, IkeSaKeysSplitTheStreamWithSaltsAfterEachEncryptionKey) {
    for (u8 kl : {u8{16}, u8{32}}) {
        IkeKeys k{};
        ASSERT_TRUE(derive_ike_keys(kNi, sizeof kNi, kNr, sizeof kNr, kGir, sizeof kGir,
                                    0x0102030405060708ull, 0x1112131415161718ull, kl, k));
        u8 const* s = kl == 16 ? kStream16 : kStream32;
        size_t const e = kl + 4u;
        EXPECT_EQ(memcmp(k.sk_d, s, 32), 0);
        EXPECT_EQ(memcmp(k.sk_ei.key, s + 32, kl), 0);
        EXPECT_EQ(memcmp(k.sk_ei.salt, s + 32 + kl, 4), 0);
        EXPECT_EQ(memcmp(k.sk_er.key, s + 32 + e, kl), 0);
        EXPECT_EQ(memcmp(k.sk_er.salt, s + 32 + e + kl, 4), 0);
        EXPECT_EQ(memcmp(k.sk_pi, s + 32 + 2 * e, 32), 0);
        EXPECT_EQ(memcmp(k.sk_pr, s + 64 + 2 * e, 32), 0);
        EXPECT_EQ(k.sk_ei.key_len, kl);
        k.wipe();
        EXPECT_EQ(k.sk_pr[0] | k.sk_ei.key[0], 0);
    }
}

TEST(IkeKeys, RekeyedIkeSaSeedsFromTheOldSkD) {
    u8 old_sk_d[32];
    for (u8 i = 0; i < 32; ++i)
        old_sk_d[i] = static_cast<u8>(200 + i);
    IkeKeys k{};
    ASSERT_TRUE(derive_ike_keys(kNi, sizeof kNi, kNr, sizeof kNr, kGir, sizeof kGir,
                                0x0102030405060708ull, 0x1112131415161718ull, 16, k, old_sk_d));
    EXPECT_EQ(memcmp(k.sk_d, kRekeyStream16, 32), 0);
    EXPECT_EQ(memcmp(k.sk_ei.key, kRekeyStream16 + 32, 16), 0);
    EXPECT_EQ(memcmp(k.sk_pr, kRekeyStream16 + 64 + 40, 32), 0);
}

TEST(IkeKeys, ChildKeymatIsInitiatorToResponderKeyAndSaltFirst) {
    for (u8 kl : {u8{16}, u8{32}}) {
        u8 const* s = kl == 16 ? kStream16 : kStream32;
        ChildKeys c{};
        ASSERT_TRUE(derive_child_keys(s, kNi, sizeof kNi, kNr, sizeof kNr, kl, c));
        u8 const* km = kl == 16 ? kKeymat16 : kKeymat32;
        EXPECT_EQ(memcmp(c.i_to_r.key, km, kl), 0);
        EXPECT_EQ(memcmp(c.i_to_r.salt, km + kl, 4), 0);
        EXPECT_EQ(memcmp(c.r_to_i.key, km + kl + 4, kl), 0);
        EXPECT_EQ(memcmp(c.r_to_i.salt, km + 2 * kl + 4, 4), 0);
    }
}

TEST(IkeKeys, PskAuthUsesThePadKeyAndTheMacedId) {
    char const psk[] = "correct horse battery staple";
    u8 pad[kPrfBytes];
    ASSERT_TRUE(psk_pad_key(reinterpret_cast<u8 const*>(psk), sizeof psk - 1, pad));
    expect_bytes(pad, kPadKey);
    u8 msg[200], skp[32], id[4 + 14] = {2, 0, 0, 0};
    for (size_t i = 0; i < sizeof msg; ++i)
        msg[i] = static_cast<u8>(i * 13);
    for (size_t i = 0; i < sizeof skp; ++i)
        skp[i] = static_cast<u8>(50 + i);
    memcpy(id + 4, "client.example", 14);
    u8 auth[kPrfBytes];
    ASSERT_TRUE(psk_auth(pad, msg, sizeof msg, kNr, sizeof kNr, skp, id, sizeof id, auth));
    expect_bytes(auth, kAuth);
}

TEST(IkeDh, Curve25519MatchesRfc7748AndIsLittleEndian) {
    FixedRng rng{kX25519Rng, sizeof kX25519Rng};
    Dh dh;
    u8 pub[32], secret[32];
    ASSERT_TRUE(dh.start(group::kCurve25519, rng.random(), pub, sizeof pub));
    expect_bytes(pub, kX25519Pub);
    ASSERT_TRUE(dh.finish(kX25519Peer, sizeof kX25519Peer, secret, sizeof secret));
    expect_bytes(secret, kX25519Shared);
}

TEST(IkeDh, Curve25519RefusesAZeroSecretAndWrongLengths) {
    FixedRng rng{kX25519Rng, sizeof kX25519Rng};
    Dh dh;
    u8 pub[32], secret[32];
    ASSERT_TRUE(dh.start(group::kCurve25519, rng.random(), pub, sizeof pub));
    u8 const zero[32] = {};
    EXPECT_FALSE(dh.finish(zero, sizeof zero, secret, sizeof secret));
    EXPECT_FALSE(dh.finish(kX25519Peer, 31, secret, sizeof secret));
}

TEST(IkeDh, Ecp256MatchesRfc5903WithoutThe04Prefix) {
    FixedRng rng{kP256Rng, sizeof kP256Rng};
    Dh dh;
    u8 pub[64], secret[32];
    ASSERT_TRUE(dh.start(group::kEcp256, rng.random(), pub, sizeof pub));
    expect_bytes(pub, kP256Pub);
    ASSERT_TRUE(dh.finish(kP256Peer, sizeof kP256Peer, secret, sizeof secret));
    expect_bytes(secret, kP256Shared);
}

TEST(IkeDh, Ecp256RefusesAPointOffTheCurve) {
    FixedRng rng{kP256Rng, sizeof kP256Rng};
    Dh dh;
    u8 pub[64], secret[32], bad[64];
    ASSERT_TRUE(dh.start(group::kEcp256, rng.random(), pub, sizeof pub));
    memcpy(bad, kP256Peer, sizeof bad);
    bad[63] ^= 1;
    EXPECT_FALSE(dh.finish(bad, sizeof bad, secret, sizeof secret));
}

TEST(IkeDh, Modp2048LeftPadsASecretWithALeadingZero) {
    FixedRng rng{kModpRng, sizeof kModpRng};
    Dh dh;
    u8 pub[256], secret[256];
    ASSERT_TRUE(dh.start(group::kModp2048, rng.random(), pub, sizeof pub));
    expect_bytes(pub, kModpPub);
    ASSERT_EQ(kModpShared[0], 0);  // the vector was picked for this
    ASSERT_TRUE(dh.finish(kModpPeer, sizeof kModpPeer, secret, sizeof secret));
    EXPECT_EQ(dh.secret_len(), 256u);
    expect_bytes(secret, kModpShared);
}

TEST(IkeDh, Modp2048RefusesOneAndPMinusOne) {
    FixedRng rng{kModpRng, sizeof kModpRng};
    Dh dh;
    u8 pub[256], secret[256], one[256] = {};
    ASSERT_TRUE(dh.start(group::kModp2048, rng.random(), pub, sizeof pub));
    one[255] = 1;
    EXPECT_FALSE(dh.finish(one, sizeof one, secret, sizeof secret));
    u8 p_minus_1[] = MBEDTLS_DHM_RFC3526_MODP_2048_P_BIN;
    p_minus_1[255] = 0xfe;
    EXPECT_FALSE(dh.finish(p_minus_1, sizeof p_minus_1, secret, sizeof secret));
}

TEST(IkeDh, UnknownGroupIsRefused) {
    FixedRng rng{kModpRng, sizeof kModpRng};
    Dh dh;
    u8 pub[256];
    EXPECT_FALSE(dh_supported(2));
    EXPECT_FALSE(dh.start(2, rng.random(), pub, sizeof pub));
}
