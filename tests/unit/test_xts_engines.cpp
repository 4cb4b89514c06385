// The two XTS engines against each other on random data, and the rules of the Xts interface:
// which lengths and keys it refuses, in-place operation, multi-sector calls, wiping.
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "crypto/cpu_features.hpp"
#include "crypto/fpu_guard.hpp"
#include "crypto/xts.hpp"
#include "tests/unit/prng.hpp"

using namespace tv;
using namespace tv::crypto;

namespace {

std::vector<u8> random_bytes(test::Prng& rng, u64 n) {
    std::vector<u8> v(n);
    for (auto& b : v)
        b = static_cast<u8>(rng.next());
    return v;
}

std::vector<u8> random_key(test::Prng& rng) { return random_bytes(rng, kXtsKeyBytes); }

class XtsEngines : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!cpu_has_aesni())
            GTEST_SKIP() << "no AES-NI: nothing to compare the fallback with";
    }
};

TEST_F(XtsEngines, AgreeOnRandomKeysSectorsAndLengths) {
    test::Prng rng{1619};
    for (int round = 0; round < 200; ++round) {
        std::vector<u8> const key = random_key(rng);
        Xts ni;
        Xts mb;
        ASSERT_EQ(ni.set_key(key.data(), XtsEngine::AesNi), Status::Ok);
        ASSERT_EQ(mb.set_key(key.data(), XtsEngine::MbedTls), Status::Ok);
        u64 const len = 16 * (1 + rng.below(300));  // every tail length behind the 8-block batches
        std::vector<u8> const pt = random_bytes(rng, len);
        u8 tweak[kXtsTweakBytes];
        for (auto& t : tweak)
            t = static_cast<u8>(rng.next());
        std::vector<u8> a(len);
        std::vector<u8> b(len);
        ASSERT_EQ(ni.encrypt(tweak, pt.data(), a.data(), len), Status::Ok);
        ASSERT_EQ(mb.encrypt(tweak, pt.data(), b.data(), len), Status::Ok);
        ASSERT_EQ(a, b) << "encrypt, length " << len;
        ASSERT_EQ(ni.decrypt(tweak, a.data(), a.data(), len), Status::Ok);
        ASSERT_EQ(mb.decrypt(tweak, b.data(), b.data(), len), Status::Ok);
        ASSERT_EQ(a, pt) << "AES-NI decrypt, length " << len;
        ASSERT_EQ(b, pt) << "mbedTLS decrypt, length " << len;
    }
}

TEST_F(XtsEngines, TweakChainsPastManyDoublingsMatch) {
    // A 1 MiB data unit: 65536 tweak doublings, far beyond any batch, with tweaks whose top
    // bits are set so that every reduction path is taken.
    test::Prng rng{7};
    std::vector<u8> const key = random_key(rng);
    Xts ni;
    Xts mb;
    ASSERT_EQ(ni.set_key(key.data(), XtsEngine::AesNi), Status::Ok);
    ASSERT_EQ(mb.set_key(key.data(), XtsEngine::MbedTls), Status::Ok);
    std::vector<u8> const pt = random_bytes(rng, kXtsMaxUnit);
    std::vector<u8> a(pt.size());
    std::vector<u8> b(pt.size());
    u8 tweak[kXtsTweakBytes];
    memset(tweak, 0xff, sizeof tweak);
    ASSERT_EQ(ni.encrypt(tweak, pt.data(), a.data(), pt.size()), Status::Ok);
    ASSERT_EQ(mb.encrypt(tweak, pt.data(), b.data(), pt.size()), Status::Ok);
    EXPECT_EQ(a, b);
}

class XtsEachEngine : public ::testing::TestWithParam<XtsEngine> {
  protected:
    void SetUp() override {
        if (GetParam() == XtsEngine::AesNi && !cpu_has_aesni())
            GTEST_SKIP() << "no AES-NI on this CPU";
        test::Prng rng{42};
        key = random_key(rng);
        ASSERT_EQ(xts.set_key(key.data(), GetParam()), Status::Ok);
    }
    std::vector<u8> key;
    Xts xts;
};

TEST_P(XtsEachEngine, MultiSectorCallEqualsOneCallPerSector) {
    for (u64 const unit : {512u, 4096u}) {
        test::Prng rng{unit};
        std::vector<u8> const pt = random_bytes(rng, 5 * unit);
        std::vector<u8> whole(pt.size());
        std::vector<u8> each(pt.size());
        ASSERT_EQ(xts.encrypt_sectors(Lba{1000}, unit, pt.data(), whole.data(), 5), Status::Ok);
        for (u64 i = 0; i < 5; ++i)
            ASSERT_EQ(xts.encrypt_sectors(Lba{1000 + i}, unit, pt.data() + i * unit,
                                          each.data() + i * unit, 1),
                      Status::Ok);
        EXPECT_EQ(whole, each) << "unit " << unit;
        ASSERT_EQ(xts.decrypt_sectors(Lba{1000}, unit, whole.data(), whole.data(), 5), Status::Ok);
        EXPECT_EQ(whole, pt) << "unit " << unit;
    }
}

TEST_P(XtsEachEngine, InPlaceGivesTheSameCiphertext) {
    test::Prng rng{3};
    std::vector<u8> const pt = random_bytes(rng, 4096);
    std::vector<u8> out(pt.size());
    std::vector<u8> inplace = pt;
    ASSERT_EQ(xts.encrypt_sectors(Lba{9}, 4096, pt.data(), out.data(), 1), Status::Ok);
    ASSERT_EQ(xts.encrypt_sectors(Lba{9}, 4096, inplace.data(), inplace.data(), 1), Status::Ok);
    EXPECT_EQ(out, inplace);
}

TEST_P(XtsEachEngine, EqualPlaintextInDifferentSectorsEncryptsDifferently) {
    std::vector<u8> const pt(1024, 0x5a);
    std::vector<u8> ct(pt.size());
    ASSERT_EQ(xts.encrypt_sectors(Lba{7}, 512, pt.data(), ct.data(), 2), Status::Ok);
    EXPECT_NE(0, memcmp(ct.data(), ct.data() + 512, 512));
    EXPECT_NE(0, memcmp(ct.data(), pt.data(), 512));
}

TEST_P(XtsEachEngine, RefusesLengthsThatAreNotWholeBlocks) {
    // No ciphertext stealing: sectors are multiples of 16 bytes, anything else is a bug.
    std::vector<u8> buf(kXtsMaxUnit + 16);
    u8 tweak[kXtsTweakBytes] = {};
    for (u64 const len : {u64{0}, u64{1}, u64{15}, u64{17}, u64{25}, u64{4095}, kXtsMaxUnit + 16})
        EXPECT_EQ(xts.encrypt(tweak, buf.data(), buf.data(), len), Status::Invalid) << len;
    EXPECT_EQ(xts.encrypt_sectors(Lba{0}, 520, buf.data(), buf.data(), 1), Status::Invalid);
    EXPECT_EQ(xts.encrypt(tweak, buf.data(), buf.data(), 16), Status::Ok);
}

TEST_P(XtsEachEngine, RefusesSectorRunsThatWrapPastTheLastLba) {
    std::vector<u8> buf(1024);
    EXPECT_EQ(xts.encrypt_sectors(Lba{~0ull}, 512, buf.data(), buf.data(), 2), Status::Invalid);
    EXPECT_EQ(xts.encrypt_sectors(Lba{~0ull}, 512, buf.data(), buf.data(), 1), Status::Ok);
}

TEST_P(XtsEachEngine, WipedCipherRefusesToWork) {
    xts.wipe();
    EXPECT_FALSE(xts.keyed());
    std::vector<u8> buf(512);
    EXPECT_EQ(xts.encrypt_sectors(Lba{0}, 512, buf.data(), buf.data(), 1), Status::Invalid);
    EXPECT_EQ(xts.decrypt_sectors(Lba{0}, 512, buf.data(), buf.data(), 1), Status::Invalid);
}

TEST_P(XtsEachEngine, RefusesAKeyWhoseHalvesAreEqual) {
    std::vector<u8> k(kXtsKeyBytes);
    for (u64 i = 0; i < k.size(); ++i)
        k[i] = static_cast<u8>(i % 32);
    EXPECT_EQ(xts.set_key(k.data(), GetParam()), Status::Invalid);
    EXPECT_FALSE(xts.keyed());
    EXPECT_EQ(xts.set_key(nullptr, GetParam()), Status::Invalid);
}

TEST_P(XtsEachEngine, RekeyingReplacesTheKey) {
    std::vector<u8> const pt(512, 1);
    std::vector<u8> a(512);
    std::vector<u8> b(512);
    ASSERT_EQ(xts.encrypt_sectors(Lba{0}, 512, pt.data(), a.data(), 1), Status::Ok);
    test::Prng rng{99};
    std::vector<u8> const other = random_key(rng);
    ASSERT_EQ(xts.set_key(other.data(), GetParam()), Status::Ok);
    ASSERT_EQ(xts.encrypt_sectors(Lba{0}, 512, pt.data(), b.data(), 1), Status::Ok);
    EXPECT_NE(a, b);
}

INSTANTIATE_TEST_SUITE_P(Engines, XtsEachEngine,
                         ::testing::Values(XtsEngine::AesNi, XtsEngine::MbedTls),
                         [](auto const& info) {
                             return info.param == XtsEngine::AesNi ? std::string{"AesNi"}
                                                                   : std::string{"MbedTls"};
                         });

TEST(XtsSelection, AutoPicksAesNiExactlyWhenTheCpuHasIt) {
    test::Prng rng{5};
    std::vector<u8> const key = random_key(rng);
    Xts xts;
    ASSERT_EQ(xts.set_key(key.data()), Status::Ok);
    EXPECT_EQ(xts.engine(), cpu_has_aesni() ? XtsEngine::AesNi : XtsEngine::MbedTls);
    EXPECT_STREQ(engine_name(xts.engine()), cpu_has_aesni() ? "aes-ni" : "mbedtls");
}

TEST(XtsSelection, FallbackIsAlwaysAvailable) {
    test::Prng rng{6};
    std::vector<u8> const key = random_key(rng);
    Xts xts;
    EXPECT_EQ(xts.set_key(key.data(), XtsEngine::MbedTls), Status::Ok);
    EXPECT_EQ(xts.engine(), XtsEngine::MbedTls);
}

TEST(FpuGuard, IsANoOpInHostBuilds) {
    // The host OS owns the SSE state; only the monitor build saves and restores it.
    static_assert(!kFpuGuardSaves);
    static_assert(alignof(FpuSaveArea) >= 16, "FXSAVE needs a 16-byte aligned area");
    fpu_area(0).bytes[0] = 0xAB;
    {
        FpuGuard guard;
        FpuGuard nested;
    }
    EXPECT_EQ(fpu_area(0).bytes[0], 0xAB);
}

TEST(FpuGuard, EachCpuHasItsOwnSaveArea) {
    // One area for all would hand one vCPU another's XMM registers when two CPUs encrypt at once.
    for (u32 a = 0; a < kFpuCpus; ++a) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(&fpu_area(a)) % 16, 0u) << "cpu " << a;
        for (u32 b = a + 1; b < kFpuCpus; ++b) {
            FpuSaveArea const* pa = &fpu_area(a);
            FpuSaveArea const* pb = &fpu_area(b);
            EXPECT_TRUE(pa + 1 <= pb || pb + 1 <= pa) << "cpus " << a << " and " << b << " share a save area";
        }
    }
}

}  // namespace
