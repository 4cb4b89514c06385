// thinvisor.conf's [vpn] section, parsed as strictly as the rest: every key checked, every
// mistake an error naming its line.
#include <gtest/gtest.h>

#include <string>

#include "config_parse.hpp"
#include "core/config.hpp"

namespace tv {
namespace {

using test_config::parse;
using test_config::Result;

constexpr char kNetwork[] = "[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\n";  // lines 1-3
constexpr char kVpn[] =
    "[vpn]\n"                                       // 4
    "gateway = 192.0.2.1:4500, 198.51.100.7\n"      // 5
    "local_id = client@example.org\n"               // 6
    "remote_id = gw.example.org\n"                  // 7
    "auth = psk\n"                                  // 8
    "psk = vpn.psk\n"                               // 9
    "inner_address = 10.10.0.5/24\n";               // 10

std::string with(std::string const& extra) { return std::string(kNetwork) + kVpn + extra; }

void expect_error(std::string const& text, u32 line, char const* fragment) {
    Result r = parse(text);
    ASSERT_FALSE(r.ok) << text;
    EXPECT_EQ(r.err.line, line) << r.err.message;
    EXPECT_NE(std::string(r.err.message).find(fragment), std::string::npos) << r.err.message;
}

u32 be(u8 a, u8 b, u8 c, u8 d) { return __builtin_bswap32(u32{a} << 24 | u32{b} << 16 | u32{c} << 8 | d); }

TEST(VpnGuestConfig, AMinimalSectionParsesWithDocumentedDefaults) {
    Result r = parse(with(""));
    ASSERT_TRUE(r.ok) << r.err.message;
    VpnConfig const& v = r.cfg.vpn;
    EXPECT_TRUE(v.present);
    ASSERT_EQ(v.gateway_count, 2u);
    EXPECT_EQ(v.gateways[0].be, be(192, 0, 2, 1));
    EXPECT_EQ(v.gateways[0].port, 4500);
    EXPECT_EQ(v.gateways[1].be, be(198, 51, 100, 7));
    EXPECT_EQ(v.gateways[1].port, 500);
    EXPECT_STREQ(v.local_id, "client@example.org");
    EXPECT_STREQ(v.remote_id, "gw.example.org");
    EXPECT_EQ(v.auth, VpnAuth::Psk);
    EXPECT_STREQ(v.psk, "vpn.psk");
    EXPECT_EQ(v.inner_address_be, be(10, 10, 0, 5));
    EXPECT_EQ(v.inner_prefix, 24);
    EXPECT_EQ(v.dns_count, 0u);
    EXPECT_EQ(v.dpd_interval_s, 30u);
    EXPECT_EQ(v.ike_lifetime_s, 14400u);
    EXPECT_EQ(v.child_lifetime_s, 3600u);
    ASSERT_EQ(v.ike_count, 1u);
    EXPECT_TRUE(v.ike[0].algs & static_cast<u32>(VpnAlg::Curve25519));
    ASSERT_EQ(v.esp_count, 1u);
    EXPECT_TRUE(v.esp[0].algs & static_cast<u32>(VpnAlg::Aes128Gcm16));
}

TEST(VpnGuestConfig, WithoutVpnThereIsNoVpn) {
    Result r = parse(kNetwork);
    ASSERT_TRUE(r.ok);
    EXPECT_FALSE(r.cfg.vpn.present);
}

TEST(VpnGuestConfig, EveryOptionalKeyIsRead) {
    Result r = parse(with("dns = 10.10.0.53, 9.9.9.9\n"
                          "dpd_interval = 10\n"
                          "ike_proposals = aes128gcm16-prfsha256-modp2048, aes256gcm16-prfsha256-ecp256-curve25519\n"
                          "esp_proposals = aes128gcm16\n"
                          "ike_lifetime = 20\n"
                          "child_lifetime = 20\n"));
    ASSERT_TRUE(r.ok) << r.err.message;
    VpnConfig const& v = r.cfg.vpn;
    ASSERT_EQ(v.dns_count, 2u);
    EXPECT_EQ(v.dns_be[1], be(9, 9, 9, 9));
    EXPECT_EQ(v.dpd_interval_s, 10u);
    ASSERT_EQ(v.ike_count, 2u);
    EXPECT_EQ(v.ike[0].algs, static_cast<u32>(VpnAlg::Aes128Gcm16) | static_cast<u32>(VpnAlg::PrfSha256) |
                                 static_cast<u32>(VpnAlg::Modp2048));
    ASSERT_EQ(v.esp_count, 1u);
    EXPECT_EQ(v.esp[0].algs, static_cast<u32>(VpnAlg::Aes128Gcm16));
    EXPECT_EQ(v.ike_lifetime_s, 20u);
    EXPECT_EQ(v.child_lifetime_s, 20u);
}

TEST(VpnGuestConfig, BadValuesStopTheBootWithTheirLine) {
    expect_error(with("dns = 10.10.0.256\n"), 11, "bad value");
    expect_error(with("dns = 1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4\n"), 11, "bad value");
    expect_error(with("dpd_interval = 3601\n"), 11, "bad value");
    expect_error(with("ike_proposals = aes128gcm16-prfsha256\n"), 11, "bad value");        // no DH group
    expect_error(with("ike_proposals = 3des-sha1-modp1024\n"), 11, "bad value");           // not supported
    expect_error(with("ike_proposals = aes128gcm16-prfsha256-ecp256-modp1024\n"), 11, "bad value");  // one unknown
    expect_error(with("ike_proposals = aes128gcm16-prfsha256-ecp256,\n"), 11, "bad value");  // empty item
    expect_error(with("esp_proposals = aes128gcm16-modp2048\n"), 11, "bad value");         // no PFS yet
    expect_error(with("esp_proposals = aes128gcm16-aes128gcm16\n"), 11, "bad value");
    expect_error(with("ike_lifetime = 9\n"), 11, "bad value");
    expect_error(with("child_lifetime = 86401\n"), 11, "bad value");
    expect_error(with("secret = hunter2\n"), 11, "unknown key 'secret' in section [vpn]");
    expect_error(with("gateway = 192.0.2.9\n"), 11, "given twice");
}

TEST(VpnGuestConfig, BadRequiredValuesStopTheBoot) {
    auto replace = [](std::string s, std::string const& from, std::string const& to) {
        return s.replace(s.find(from), from.size(), to);
    };
    std::string const good = with("");
    expect_error(replace(good, "192.0.2.1:4500", "192.0.2.1:0"), 5, "bad value");
    expect_error(replace(good, "192.0.2.1:4500", "gw.example.org"), 5, "bad value");
    expect_error(replace(good, "198.51.100.7", "1.2.3.4, 5.6.7.8, 9.9.9.9, 1.1.1.1"), 5, "bad value");  // > 4
    expect_error(replace(good, "auth = psk", "auth = pubkey"), 8, "bad value");
    expect_error(replace(good, "10.10.0.5/24", "10.10.0.5"), 10, "bad value");
    expect_error(replace(good, "10.10.0.5/24", "10.10.0.5/32"), 10, "bad value");  // no room for the gateway
    expect_error(replace(good, "10.10.0.5/24", "10.10.0.0/24"), 10, "bad value");  // the network address
    expect_error(replace(good, "10.10.0.5/24", "10.10.0.255/24"), 10, "bad value");
}

TEST(VpnGuestConfig, EveryRequiredKeyIsRequired) {
    for (char const* key : {"gateway", "local_id", "remote_id", "auth", "psk", "inner_address"}) {
        std::string text = with("");
        size_t const at = text.find(std::string("\n") + key + " =") + 1;
        text.erase(at, text.find('\n', at) + 1 - at);
        expect_error(text, 9, (std::string("lacks the required key '") + key + "'").c_str());
    }
}

TEST(VpnGuestConfig, VpnNeedsNetwork) {
    expect_error(std::string(kVpn), 0, "[vpn] needs [network]");
}

}  // namespace
}  // namespace tv
