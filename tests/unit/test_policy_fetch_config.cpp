// [policy] url, ca, server, interval and boot_wait (core/config): the policy fetched over
// HTTPS (docs/policies.md, "Distribution"), strict like every other key.
#include <gtest/gtest.h>

#include <string>

#include "config_parse.hpp"
#include "core/config.hpp"
#include "test_policy_keys.hpp"

using namespace tv;

namespace {

using test_config::parse;
using test_config::Result;

constexpr char kNetwork[] = "[network]\ndhcp = no\nmac = 52:54:00:12:34:56\naddress = 10.0.2.15\n"
                            "netmask = 255.255.255.0\ngateway = 10.0.2.2\n";

// The [policy] section starts at line 7, after the six lines of kNetwork; its keys from 10.
std::string with(std::string const& keys) {
    return std::string(kNetwork) + "[policy]\npubkey = " + policy_test::kAdminPub + "\nmodule = system.policy\n" + keys;
}

constexpr char kFetch[] = "url = https://policy.test:8443/fleet/disk.policy\nca = policy-ca.pem\nserver = 10.0.2.2\n";

}  // namespace

TEST(PolicyFetchConfig, UrlCaAndServerWithDefaults) {
    Result r = parse(with(kFetch));
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_STREQ(r.cfg.policy.url, "https://policy.test:8443/fleet/disk.policy");
    EXPECT_STREQ(r.cfg.policy.ca, "policy-ca.pem");
    EXPECT_EQ(r.cfg.policy.server.be, 0x0202000au);
    EXPECT_EQ(r.cfg.policy.interval_s, 300u);
    EXPECT_EQ(r.cfg.policy.boot_wait_s, 30u);
    r = parse(with(std::string(kFetch) + "interval = 5\nboot_wait = 0\n"));
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.cfg.policy.interval_s, 5u);
    EXPECT_EQ(r.cfg.policy.boot_wait_s, 0u);
}

TEST(PolicyFetchConfig, NoUrlMeansNoFetch) {
    Result r = parse(with(""));
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_STREQ(r.cfg.policy.url, "");
}

TEST(PolicyFetchConfig, BadValuesStopTheBootWithTheirLine) {
    struct Case {
        char const* line;
    } const cases[] = {{"url = http://policy.test/p\n"},   {"url = https://policy.test\n"},
                       {"interval = 1\n"},                 {"interval = 86401\n"},
                       {"interval = five\n"},              {"server = 10.0.2\n"},
                       {"boot_wait = 601\n"},              {"refresh = 5\n"}};
    for (Case const& c : cases) {
        Result r = parse(with(std::string(kFetch) + c.line));
        ASSERT_FALSE(r.ok) << c.line;
        EXPECT_EQ(r.err.line, 13u) << c.line << ": " << r.err.message;
    }
}

TEST(PolicyFetchConfig, UrlNeedsItsCaServerAndNetwork) {
    Result r = parse(with("url = https://policy.test/p\nserver = 10.0.2.2\n"));
    ASSERT_FALSE(r.ok);
    EXPECT_NE(std::string(r.err.message).find("ca"), std::string::npos) << r.err.message;
    r = parse(with("ca = policy-ca.pem\n"));
    ASSERT_FALSE(r.ok);
    EXPECT_NE(std::string(r.err.message).find("url"), std::string::npos) << r.err.message;
    r = parse(std::string("[policy]\npubkey = ") + policy_test::kAdminPub + "\nmodule = system.policy\n" + kFetch);
    ASSERT_FALSE(r.ok);
    EXPECT_NE(std::string(r.err.message).find("[network]"), std::string::npos) << r.err.message;
}
