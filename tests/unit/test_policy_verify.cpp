// The monitor's refusals of a policy (policies/policy_verify): unsigned, tampered, signed by
// another key, a rollback, another disk; and the pinned key's parsing.
#include <gtest/gtest.h>

#include "policies/policy_verify.hpp"
#include "test_policy_keys.hpp"

using namespace tv;
using namespace tv::policy;
using namespace policy_test;

namespace {

constexpr Range kOne[] = {{8192, 1024, Action::Protect, "/usr/bin/login"}};

VerifyRequest request(PinnedKey const& k, u64 in_force = 0) {
    VerifyRequest r{&k, in_force, true, PolicyBus::Ata, {}};
    EXPECT_TRUE(ok(crypto::make_serial("QM00001", 7, r.serial)));
    return r;
}

VerifyError verify(std::vector<u8> const& p, VerifyRequest const& r) {
    PolicyView v;
    return verify_policy(p.data(), p.size(), r, v);
}

}  // namespace

TEST(PolicyVerify, SignedByThePinnedKeyForThisDiskIsAccepted) {
    PinnedKey const k = admin_pinned();
    auto p = make_policy(kOne, 1, 5);
    PolicyView v;
    ASSERT_EQ(verify_policy(p.data(), p.size(), request(k, 4), v), VerifyError::None);
    EXPECT_EQ(v.version, 5u);
    EXPECT_STREQ(v.range(0).path, "/usr/bin/login");
}

TEST(PolicyVerify, SigningIsDeterministic) {
    EXPECT_EQ(make_policy(kOne, 1, 5), make_policy(kOne, 1, 5));
}

TEST(PolicyVerify, UnsignedPolicyIsRefused) {
    PinnedKey const k = admin_pinned();
    auto p = make_policy(kOne, 1, 5, "QM00001", nullptr);
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(verify(p, request(k)), VerifyError::Unsigned);
}

TEST(PolicyVerify, AnyFlippedBitIsRefused) {
    PinnedKey const k = admin_pinned();
    auto const p = make_policy(kOne, 1, 5);
    for (size_t i = 0; i < p.size(); ++i) {
        auto q = p;
        q[i] ^= 0x10;
        VerifyError const e = verify(q, request(k));
        EXPECT_TRUE(e == VerifyError::Signature || e == VerifyError::Malformed) << i;
    }
}

TEST(PolicyVerify, TamperedRangeWithValidLayoutIsASignatureFailure) {
    PinnedKey const k = admin_pinned();
    auto p = make_policy(kOne, 1, 5);
    reinterpret_cast<PolicyRange*>(p.data() + sizeof(PolicyHeader))->length.set(1);  // shrink the range
    EXPECT_EQ(verify(p, request(k)), VerifyError::Signature);
}

TEST(PolicyVerify, SignedByAnotherKeyIsRefused) {
    PinnedKey const k = admin_pinned();
    auto p = make_policy(kOne, 1, 5, "QM00001", kOtherKey);
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(verify(p, request(k)), VerifyError::Signature);
}

TEST(PolicyVerify, OlderOrEqualVersionThanInForceIsRefused) {
    PinnedKey const k = admin_pinned();
    auto p = make_policy(kOne, 1, 5);
    EXPECT_EQ(verify(p, request(k, 5)), VerifyError::Rollback);
    EXPECT_EQ(verify(p, request(k, 9)), VerifyError::Rollback);
    EXPECT_EQ(verify(p, request(k, 4)), VerifyError::None);
}

TEST(PolicyVerify, PolicyForAnotherDiskIsRefused) {
    PinnedKey const k = admin_pinned();
    EXPECT_EQ(verify(make_policy(kOne, 1, 5, "QM00002"), request(k)), VerifyError::OtherDisk);
    EXPECT_EQ(verify(make_policy(kOne, 1, 5, "QM00001", kAdminKey, PolicyBus::Aoe), request(k)),
              VerifyError::OtherDisk);
}

TEST(PolicyVerify, MalformedPolicyIsRefusedWithTheParserReason) {
    PinnedKey const k = admin_pinned();
    auto p = make_policy(kOne, 1, 5);
    p.pop_back();
    PolicyView v;
    ParseError why = ParseError::None;
    EXPECT_EQ(verify_policy(p.data(), p.size(), request(k), v, &why), VerifyError::Malformed);
    EXPECT_EQ(why, ParseError::Short);
}

TEST(PolicyVerify, PinnedKeyMustBeAP256PublicKey) {
    PinnedKey k{};
    EXPECT_EQ(pubkey_from_base64("bm90IGEga2V5", 12, k), Status::Invalid);  // "not a key"
    EXPECT_EQ(pubkey_from_base64("!!!", 3, k), Status::Invalid);
    u8 der[200];
    u64 const n = public_der_of(reinterpret_cast<u8 const*>(kOtherKey), sizeof kOtherKey, der, sizeof der);
    ASSERT_GT(n, 0u);
    ASSERT_EQ(pubkey_from_der(der, n, k), Status::Ok);
    EXPECT_EQ(k.point[0], 0x04);
    der[n - 1] ^= 1;  // off the curve
    PinnedKey bad{};
    Status const s = pubkey_from_der(der, n, bad);
    if (ok(s)) {  // mbedTLS parses the point without checking it: verification must then fail
        auto p = make_policy(kOne, 1, 5);
        EXPECT_EQ(verify(p, request(bad)), VerifyError::Signature);
    }
}
