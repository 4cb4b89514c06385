// AES-GCM against published test vectors, for both engines.
//
// Source of the values (data only): D. McGrew and J. Viega, "The Galois/Counter Mode of
// Operation (GCM)", revised submission to NIST (2005), appendix B, test cases 1-4 (AES-128)
// and 13-16 (AES-256): the vectors NIST SP 800-38D's GCM was specified with. Cases 3/15 have
// 64 bytes of data and no AAD; 4/16 have 60 bytes (a partial last block) and 20 bytes of AAD.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/cpu_features.hpp"
#include "crypto/gcm.hpp"

using namespace tv;
using namespace tv::crypto;

namespace {

std::vector<u8> unhex(std::string const& h) {
    std::vector<u8> out(h.size() / 2);
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<u8>(std::stoul(h.substr(2 * i, 2), nullptr, 16));
    return out;
}

struct Vector {
    char const* name;
    char const* key;
    char const* iv;
    char const* aad;
    char const* pt;
    char const* ct;
    char const* tag;
};

constexpr char kK3[] = "feffe9928665731c6d6a8f9467308308";
constexpr char kIv3[] = "cafebabefacedbaddecaf888";
constexpr char kP3[] = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                       "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
constexpr char kP4[] = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                       "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
constexpr char kA4[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
constexpr char kZero96[] = "000000000000000000000000";
constexpr char kZero128[] = "00000000000000000000000000000000";
constexpr char kZero256[] = "0000000000000000000000000000000000000000000000000000000000000000";

Vector const kVectors[] = {
    {"tc1", kZero128, kZero96, "", "", "", "58e2fccefa7e3061367f1d57a4e7455a"},
    {"tc2", kZero128, kZero96, "", kZero128, "0388dace60b6a392f328c2b971b2fe78",
     "ab6e47d42cec13bdf53a67b21257bddf"},
    {"tc3", kK3, kIv3, "", kP3,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"tc4", kK3, kIv3, kA4, kP4,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"tc13", kZero256, kZero96, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"tc14", kZero256, kZero96, "", kZero128, "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"tc15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", kIv3, "", kP3,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"tc16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", kIv3, kA4, kP4,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

void check_vector(Vector const& v, GcmEngine engine) {
    SCOPED_TRACE(v.name);
    auto const key = unhex(v.key), iv = unhex(v.iv), aad = unhex(v.aad), pt = unhex(v.pt);
    auto const ct = unhex(v.ct), tag = unhex(v.tag);
    Gcm g;
    ASSERT_EQ(g.set_key(key.data(), key.size(), engine), Status::Ok);
    std::vector<u8> out(pt.size() + 1);
    u8 t[16];
    ASSERT_EQ(g.seal(iv.data(), aad.data(), aad.size(), pt.data(), out.data(), pt.size(), t),
              Status::Ok);
    out.resize(pt.size());
    EXPECT_EQ(out, ct);
    EXPECT_EQ(std::vector<u8>(t, t + 16), tag);
    std::vector<u8> back(ct.size() + 1);
    ASSERT_EQ(
        g.open(iv.data(), aad.data(), aad.size(), ct.data(), back.data(), ct.size(), tag.data()),
        Status::Ok);
    back.resize(ct.size());
    EXPECT_EQ(back, pt);
    g.wipe();
}

}  // namespace

TEST(GcmVectors, MbedTlsEngineMatchesMcGrewViegaTestCases) {
    for (auto const& v : kVectors)
        check_vector(v, GcmEngine::MbedTls);
}

TEST(GcmVectors, AesNiEngineMatchesMcGrewViegaTestCases) {
    if (!cpu_has_aesni() || !cpu_has_pclmul())
        GTEST_SKIP() << "no AES-NI + PCLMULQDQ";
    for (auto const& v : kVectors)
        check_vector(v, GcmEngine::AesNi);
}
