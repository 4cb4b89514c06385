// [vpn]'s failover keys (liveness_target, liveness_interval, liveness_misses, standby, failback,
// failback_hold): their defaults, each value, and each refusal with its line.
#include <gtest/gtest.h>

#include <string>

#include "core/config.hpp"

namespace tv {
namespace {

constexpr char kBase[] =
    "[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\n"  // 1-3
    "[vpn]\n"                                           // 4
    "gateway = 192.0.2.1, 198.51.100.7\n"               // 5
    "local_id = client@example.org\n"                   // 6
    "remote_id = gw.example.org\n"                      // 7
    "auth = psk\n"                                      // 8
    "psk = vpn.psk\n"                                   // 9
    "inner_address = 10.10.0.5/24\n";                   // 10

struct Result {
    bool ok;
    Config cfg;
    ConfigError err;
};

Result parse(std::string const& extra) {
    Result r{};
    std::string const text = std::string(kBase) + extra;
    r.ok = config_parse(text.data(), text.size(), &r.cfg, &r.err);
    return r;
}

void expect_error(std::string const& extra, u32 line, char const* fragment) {
    Result r = parse(extra);
    ASSERT_FALSE(r.ok) << extra;
    EXPECT_EQ(r.err.line, line) << r.err.message;
    EXPECT_NE(std::string(r.err.message).find(fragment), std::string::npos) << r.err.message;
}

u32 be(u8 a, u8 b, u8 c, u8 d) { return __builtin_bswap32(u32{a} << 24 | u32{b} << 16 | u32{c} << 8 | d); }

TEST(VpnFailoverConfig, DefaultsArePingsEvery100MsThreeMissesHotStandbyAndStay) {
    Result r = parse("");
    ASSERT_TRUE(r.ok) << r.err.message;
    VpnConfig const& v = r.cfg.vpn;
    EXPECT_EQ(v.liveness_count, 0u);
    EXPECT_EQ(v.liveness_interval_ms[0], 100u);
    EXPECT_EQ(v.liveness_misses[0], 3u);
    EXPECT_EQ(v.liveness_interval_count, 0u);
    EXPECT_TRUE(v.standby);
    EXPECT_FALSE(v.failback_preferred);
    EXPECT_EQ(v.failback_hold_s, 60u);
}

TEST(VpnFailoverConfig, EveryKeyTakesItsValue) {
    Result r = parse("liveness_target = 10.1.0.1, 10.2.0.1\nliveness_interval = 50\nliveness_misses = 5\n"
                     "standby = yes\nfailback = preferred\nfailback_hold = 30\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    VpnConfig const& v = r.cfg.vpn;
    ASSERT_EQ(v.liveness_count, 2u);
    EXPECT_EQ(v.liveness_be[0], be(10, 1, 0, 1));
    EXPECT_EQ(v.liveness_be[1], be(10, 2, 0, 1));
    EXPECT_EQ(v.liveness_interval_ms[0], 50u);
    EXPECT_EQ(v.liveness_misses[0], 5u);
    EXPECT_TRUE(v.standby);
    EXPECT_TRUE(v.failback_preferred);
    EXPECT_EQ(v.failback_hold_s, 30u);
    Result per = parse("liveness_interval = 50, 200\nliveness_misses = 2, 4\n");
    ASSERT_TRUE(per.ok) << per.err.message;
    EXPECT_EQ(per.cfg.vpn.liveness_interval_count, 2u);
    EXPECT_EQ(per.cfg.vpn.liveness_interval_ms[1], 200u);
    EXPECT_EQ(per.cfg.vpn.liveness_misses[1], 4u);
    Result one = parse("liveness_target = 10.9.0.1\nfailback = stay\n");
    ASSERT_TRUE(one.ok) << one.err.message;
    EXPECT_EQ(one.cfg.vpn.liveness_count, 1u);
    EXPECT_FALSE(one.cfg.vpn.failback_preferred);
}

TEST(VpnFailoverConfig, BadValuesAreRefusedWithTheirLine) {
    expect_error("liveness_target = 10.1.0.300\n", 11, "bad value");
    expect_error("liveness_target = 0.0.0.0\n", 11, "bad value");
    expect_error("liveness_target = 10.1.0.1,\n", 11, "bad value");
    expect_error("liveness_target = 1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4, 5.5.5.5\n", 11, "bad value");
    expect_error("liveness_interval = 9\n", 11, "bad value");
    expect_error("liveness_interval = 10001\n", 11, "bad value");
    expect_error("liveness_interval = 100ms\n", 11, "bad value");
    expect_error("liveness_misses = 0\n", 11, "bad value");
    expect_error("liveness_misses = 101\n", 11, "bad value");
    expect_error("standby = hot\n", 11, "bad value");
    expect_error("failback = back\n", 11, "bad value");
    expect_error("failback_hold = 0\n", 11, "bad value");
    expect_error("standby = yes\nstandby = no\n", 12, "given twice");
}

TEST(VpnFailoverConfig, TargetsIntervalsAndMissesMustBeOneForAllOrOnePerGateway) {
    expect_error("liveness_target = 10.1.0.1, 10.2.0.1, 10.3.0.1\n", 11,
                 "'liveness_target' needs one address for all gateways or one for each");
    expect_error("liveness_interval = 100, 100, 100\n", 11, "'liveness_interval' needs one value");
    expect_error("liveness_misses = 3, 3, 3\n", 11, "'liveness_misses' needs one value");
    expect_error("liveness_interval = 100, 5\n", 11, "bad value");
}

TEST(VpnFailoverConfig, FailbackToThePreferredGatewayNeedsTheStandby) {
    expect_error("standby = no\nfailback = preferred\n", 12, "'failback = preferred' needs 'standby = yes'");
    Result r = parse("standby = no\nfailback = stay\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_FALSE(r.cfg.vpn.standby);
    EXPECT_FALSE(r.cfg.vpn.failback_preferred);
}

}  // namespace
}  // namespace tv
