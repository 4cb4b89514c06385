// [policy] in thinvisor.conf (core/config): the pinned key inline, the policy's boot module,
// the oldest version accepted; strict like every other section.
#include <gtest/gtest.h>

#include <string.h>

#include <string>

#include "config_parse.hpp"
#include "core/config.hpp"
#include "test_policy_keys.hpp"

using namespace tv;

namespace {

using test_config::parse;
using test_config::Result;

std::string section(std::string const& extra = "") {
    return std::string("[policy]\npubkey = ") + policy_test::kAdminPub + "\nmodule = system.policy\n" + extra;
}

}  // namespace

TEST(PolicyConfig, SectionAloneConfiguresTheMonitor) {
    Result r = parse(section());
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_TRUE(r.cfg.policy.present);
    EXPECT_STREQ(r.cfg.policy.module, "system.policy");
    EXPECT_STREQ(r.cfg.policy.pubkey, policy_test::kAdminPub);
    EXPECT_EQ(r.cfg.policy.min_version, 1u);
    policy::PinnedKey k{};  // the pinned line is what the loader parses
    EXPECT_EQ(policy::pubkey_from_base64(r.cfg.policy.pubkey, strlen(r.cfg.policy.pubkey), k), Status::Ok);
}

TEST(PolicyConfig, MinVersionIsParsed) {
    Result r = parse(section("min_version = 42\n"));
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.cfg.policy.min_version, 42u);
    EXPECT_FALSE(parse(section("min_version = 0\n")).ok);
}

TEST(PolicyConfig, MissingKeysAndBadValuesAreErrorsWithTheirLine) {
    Result r = parse("[policy]\nmodule = p.pol\n");
    ASSERT_FALSE(r.ok);
    EXPECT_NE(std::string(r.err.message).find("pubkey"), std::string::npos) << r.err.message;
    r = parse("[policy]\npubkey = -----BEGIN PUBLIC KEY-----\nmodule = p.pol\n");  // PEM armour: not the one line
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.err.line, 2u);
    r = parse(section("colour = red\n"));
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.err.line, 4u);
    r = parse(section() + section());
    ASSERT_FALSE(r.ok);
    EXPECT_NE(std::string(r.err.message).find("twice"), std::string::npos) << r.err.message;
}

TEST(PolicyConfig, AbsentSectionMeansNoPolicy) {
    Result r = parse("[ide]\ncd_write = deny\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_FALSE(r.cfg.policy.present);
}
