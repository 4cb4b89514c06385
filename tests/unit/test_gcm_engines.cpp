// The two GCM engines against each other on random keys, lengths, AAD and buffer offsets, and
// the rules of the Gcm interface: tag failures, in-place operation, wiping, refused arguments.
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "crypto/cpu_features.hpp"
#include "crypto/gcm.hpp"
#include "tests/unit/prng.hpp"

using namespace tv;
using namespace tv::crypto;

namespace {

void fill(test::Prng& rng, u8* p, u64 n) {
    for (u64 i = 0; i < n; ++i)
        p[i] = static_cast<u8>(rng.next());
}

class GcmEngines : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!cpu_has_aesni() || !cpu_has_pclmul())
            GTEST_SKIP() << "no AES-NI + PCLMULQDQ: nothing to compare the fallback with";
    }
};

}  // namespace

TEST_F(GcmEngines, AgreeOnRandomLengthsFrom0To2000AndOffsets) {
    test::Prng rng{4106};
    for (int round = 0; round < 600; ++round) {
        u64 const key_len = rng.chance(2) ? 16 : 32;
        u8 key[32], nonce[12], aad[kGcmMaxAad];
        fill(rng, key, key_len);
        fill(rng, nonce, sizeof nonce);
        u64 const aad_len = rng.chance(2) ? 8 : rng.below(kGcmMaxAad + 1);
        fill(rng, aad, aad_len);
        u64 const len = round < 64 ? static_cast<u64>(round) : rng.below(2001);
        u64 const in_off = rng.below(16), out_off = rng.below(16);
        std::vector<u8> in(len + in_off), a(len + out_off), b(len + out_off);
        fill(rng, in.data() + in_off, len);
        Gcm ni, mb;
        ASSERT_EQ(ni.set_key(key, key_len, GcmEngine::AesNi), Status::Ok);
        ASSERT_EQ(mb.set_key(key, key_len, GcmEngine::MbedTls), Status::Ok);
        u8 ta[16], tb[16];
        ASSERT_EQ(ni.seal(nonce, aad, aad_len, in.data() + in_off, a.data() + out_off, len, ta),
                  Status::Ok);
        ASSERT_EQ(mb.seal(nonce, aad, aad_len, in.data() + in_off, b.data() + out_off, len, tb),
                  Status::Ok);
        ASSERT_EQ(a, b) << "len " << len << " key " << key_len;
        ASSERT_EQ(0, memcmp(ta, tb, 16)) << "len " << len << " aad " << aad_len;
        // Each opens the other's output.
        std::vector<u8> back(len + 1);
        ASSERT_EQ(ni.open(nonce, aad, aad_len, b.data() + out_off, back.data(), len, tb),
                  Status::Ok);
        ASSERT_EQ(0, memcmp(back.data(), in.data() + in_off, len));
        ASSERT_EQ(mb.open(nonce, aad, aad_len, a.data() + out_off, back.data(), len, ta),
                  Status::Ok);
        ASSERT_EQ(0, memcmp(back.data(), in.data() + in_off, len));
        ni.wipe();
        mb.wipe();
    }
}

TEST_F(GcmEngines, InPlaceSealAndOpenRoundTrip) {
    test::Prng rng{7};
    u8 key[32], nonce[12] = {1, 2, 3}, aad[8] = {9};
    fill(rng, key, 32);
    for (u64 len : {0u, 1u, 15u, 16u, 63u, 64u, 65u, 1400u}) {
        std::vector<u8> pt(len), buf(len);
        fill(rng, pt.data(), len);
        buf = pt;
        Gcm g;
        ASSERT_EQ(g.set_key(key, 32), Status::Ok);
        u8 tag[16];
        ASSERT_EQ(g.seal(nonce, aad, 8, buf.data(), buf.data(), len, tag), Status::Ok);
        ASSERT_EQ(g.open(nonce, aad, 8, buf.data(), buf.data(), len, tag), Status::Ok);
        EXPECT_EQ(buf, pt) << len;
        g.wipe();
    }
}

TEST(Gcm, BadTagIsRefusedAndReleasesNoPlaintextOnEitherEngine) {
    for (auto engine : {GcmEngine::Auto, GcmEngine::MbedTls}) {
        u8 key[16] = {5}, nonce[12] = {}, aad[8] = {1};
        u8 pt[100], ct[100], out[100];
        memset(pt, 0x41, sizeof pt);
        Gcm g;
        ASSERT_EQ(g.set_key(key, 16, engine), Status::Ok);
        u8 tag[16];
        ASSERT_EQ(g.seal(nonce, aad, 8, pt, ct, sizeof pt, tag), Status::Ok);
        for (int what = 0; what < 3; ++what) {
            u8 c2[100], t2[16], a2[8];
            memcpy(c2, ct, 100), memcpy(t2, tag, 16), memcpy(a2, aad, 8);
            if (what == 0)
                c2[57] ^= 1;
            else if (what == 1)
                t2[15] ^= 0x80;
            else
                a2[3] ^= 4;
            memset(out, 0x41, sizeof out);
            EXPECT_EQ(g.open(nonce, a2, 8, c2, out, 100, t2), Status::Refused) << what;
            for (u8 b : out)
                ASSERT_NE(b, 0x41) << "plaintext released, case " << what;
        }
        g.wipe();
    }
}

TEST(Gcm, RefusesBadKeyLengthsAndUnkeyedUse) {
    Gcm g;
    u8 key[32] = {}, nonce[12] = {}, buf[16] = {}, tag[16];
    EXPECT_EQ(g.set_key(key, 24), Status::Invalid);
    EXPECT_FALSE(g.keyed());
    EXPECT_EQ(g.seal(nonce, nullptr, 0, buf, buf, 16, tag), Status::Invalid);
    ASSERT_EQ(g.set_key(key, 16), Status::Ok);
    u8 big_aad[kGcmMaxAad + 1] = {};
    EXPECT_EQ(g.seal(nonce, big_aad, sizeof big_aad, buf, buf, 16, tag), Status::Invalid);
    g.wipe();
    EXPECT_EQ(g.open(nonce, nullptr, 0, buf, buf, 16, tag), Status::Invalid);
}
