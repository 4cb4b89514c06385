// EME-OAEP (SHA-256) decoding and encoding (crypto/rsa_oaep.*), checked against OpenSSL's
// output (tests/unit/test_oaep_vectors.hpp) and against mbedTLS's own RSA-OAEP.
#include <gtest/gtest.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <string.h>

#include <vector>

#include "crypto/rsa_oaep.hpp"
#include "tests/unit/prng.hpp"
#include "tests/unit/test_oaep_vectors.hpp"

using namespace tv;
using namespace tv::crypto;
namespace v = tv::crypto::oaep_vectors;

namespace {

std::vector<u8> decode(u8 const* em, u64 k, u8 const* label, u64 label_len, u64 msg_len, bool& ok) {
    std::vector<u8> out(msg_len, 0xaa);
    ok = oaep_decode_sha256(em, k, label, label_len, out.data(), msg_len);
    return out;
}

// The test key as mbedTLS sees it (its parser, its RSA).
class TestKey {
  public:
    TestKey() {
        mbedtls_pk_init(&pk_);
        int const rc = mbedtls_pk_parse_key(&pk_, reinterpret_cast<u8 const*>(v::kKeyPem),
                                            sizeof v::kKeyPem, nullptr, 0);
        EXPECT_EQ(rc, 0);
    }
    ~TestKey() { mbedtls_pk_free(&pk_); }
    mbedtls_rsa_context* rsa() { return mbedtls_pk_rsa(pk_); }

  private:
    mbedtls_pk_context pk_;
};

int test_rng(void* ctx, unsigned char* out, size_t n) {
    auto* prng = static_cast<test::Prng*>(ctx);
    for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<unsigned char>(prng->next());
    return 0;
}

}  // namespace

TEST(Oaep, DecodesOpenSslBlockWithLabel) {
    bool ok = false;
    auto const m = decode(v::kEm64, sizeof v::kEm64, v::kLabel, sizeof v::kLabel, 64, ok);
    ASSERT_TRUE(ok);
    EXPECT_EQ(0, memcmp(m.data(), v::kMsg64, 64));
}

TEST(Oaep, DecodesOpenSslBlockWithEmptyLabel) {
    bool ok = false;
    auto const m = decode(v::kEm32, sizeof v::kEm32, nullptr, 0, 32, ok);
    ASSERT_TRUE(ok);
    EXPECT_EQ(0, memcmp(m.data(), v::kMsg32, 32));
}

TEST(Oaep, RawPrivateOperationOnOpenSslCiphertextGivesTheBlock) {
    TestKey key;
    u8 em[256];
    test::Prng prng{5};
    ASSERT_EQ(0, mbedtls_rsa_private(key.rsa(), test_rng, &prng, v::kCipher64, em));
    EXPECT_EQ(0, memcmp(em, v::kEm64, sizeof em));
}

TEST(Oaep, RefusesAnotherLabel) {
    bool ok = true;
    u8 const other[] = "thinvisor test labeL";
    auto const m = decode(v::kEm64, sizeof v::kEm64, other, sizeof v::kLabel, 64, ok);
    EXPECT_FALSE(ok);
    EXPECT_EQ(std::vector<u8>(64, 0), m);  // nothing of the message leaks out
    decode(v::kEm64, sizeof v::kEm64, nullptr, 0, 64, ok);
    EXPECT_FALSE(ok);
}

TEST(Oaep, RefusesAnotherMessageLength) {
    bool ok = true;
    decode(v::kEm64, sizeof v::kEm64, v::kLabel, sizeof v::kLabel, 63, ok);
    EXPECT_FALSE(ok);
    decode(v::kEm64, sizeof v::kEm64, v::kLabel, sizeof v::kLabel, 65, ok);
    EXPECT_FALSE(ok);
    decode(v::kEm32, sizeof v::kEm32, nullptr, 0, 64, ok);
    EXPECT_FALSE(ok);
}

TEST(Oaep, RefusesSha1Padding) {
    bool ok = true;
    decode(v::kEmSha1, sizeof v::kEmSha1, v::kLabel, sizeof v::kLabel, 64, ok);
    EXPECT_FALSE(ok);
}

TEST(Oaep, RefusesEveryFlippedByte) {
    // Any change anywhere (leading zero, masked seed, label hash, padding, separator, message)
    // changes the decoded data block or the label hash check.
    for (u64 i = 0; i < sizeof v::kEm64; ++i) {
        u8 em[sizeof v::kEm64];
        memcpy(em, v::kEm64, sizeof em);
        em[i] = static_cast<u8>(em[i] ^ (1u << (i % 8)));
        bool ok = true;
        decode(em, sizeof em, v::kLabel, sizeof v::kLabel, 64, ok);
        EXPECT_FALSE(ok) << "byte " << i;
    }
}

TEST(Oaep, RefusesSizesOutOfRange) {
    u8 out[64];
    u8 em[600] = {};
    EXPECT_FALSE(oaep_decode_sha256(em, oaep_min_modulus(64) - 1, nullptr, 0, out, 64));
    EXPECT_FALSE(oaep_decode_sha256(em, kOaepMaxModulusBytes + 1, nullptr, 0, out, 64));
    EXPECT_FALSE(oaep_decode_sha256(nullptr, 256, nullptr, 0, out, 64));
    u8 const seed[kOaepHashBytes] = {};
    EXPECT_FALSE(oaep_encode_sha256(out, 64, nullptr, 0, seed, em, oaep_min_modulus(64) - 1));
    EXPECT_TRUE(oaep_encode_sha256(out, 64, nullptr, 0, seed, em, oaep_min_modulus(64)));
}

TEST(Oaep, EncodeThenMbedTlsDecryptRoundTrips) {
    TestKey key;
    test::Prng prng{9};
    u8 msg[64];
    u8 seed[kOaepHashBytes];
    for (auto& b : msg)
        b = static_cast<u8>(prng.next());
    for (auto& b : seed)
        b = static_cast<u8>(prng.next());
    u8 em[256];
    u8 ct[256];
    ASSERT_TRUE(oaep_encode_sha256(msg, sizeof msg, v::kLabel, sizeof v::kLabel, seed, em, sizeof em));
    ASSERT_EQ(0, mbedtls_rsa_public(key.rsa(), em, ct));
    mbedtls_rsa_set_padding(key.rsa(), MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
    u8 out[256];
    size_t out_len = 0;
    ASSERT_EQ(0, mbedtls_rsa_rsaes_oaep_decrypt(key.rsa(), test_rng, &prng, MBEDTLS_RSA_PRIVATE,
                                                v::kLabel, sizeof v::kLabel, &out_len, ct, out,
                                                sizeof out));
    ASSERT_EQ(out_len, sizeof msg);
    EXPECT_EQ(0, memcmp(out, msg, sizeof msg));
}

TEST(Oaep, EncodeThenDecodeRoundTripsForEveryModulusSize) {
    test::Prng prng{11};
    for (u64 k = oaep_min_modulus(64); k <= kOaepMaxModulusBytes; k += 37) {
        u8 msg[64];
        u8 seed[kOaepHashBytes];
        for (auto& b : msg)
            b = static_cast<u8>(prng.next());
        for (auto& b : seed)
            b = static_cast<u8>(prng.next());
        std::vector<u8> em(k);
        ASSERT_TRUE(oaep_encode_sha256(msg, sizeof msg, nullptr, 0, seed, em.data(), k));
        EXPECT_EQ(em[0], 0);
        bool ok = false;
        auto const m = decode(em.data(), k, nullptr, 0, 64, ok);
        ASSERT_TRUE(ok) << "k " << k;
        EXPECT_EQ(0, memcmp(m.data(), msg, 64));
    }
}
