// [vpn]'s authentication keys (core/config_vpn.cpp): auth = psk with its module, or auth = cert
// with the pinned CA, our certificate and our key, each a module name; the other method's keys
// are refused, as is a method without its keys.
#include <gtest/gtest.h>

#include <string>

#include "core/config.hpp"
#include "vpn/monitor/tunnel_pure.hpp"

namespace tv {
namespace {

struct Parsed {
    bool ok;
    Config cfg;
    ConfigError err;
};

Parsed parse(std::string const& auth_lines) {
    std::string const text = "[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\n"
                             "[vpn]\n"
                             "gateway = 192.0.2.1\n"
                             "local_id = client@example.org\n"
                             "remote_id = gw.example.org\n"
                             "inner_address = 10.10.0.5/24\n" +
                             auth_lines;
    Parsed r{};
    r.ok = config_parse(text.data(), text.size(), &r.cfg, &r.err);
    return r;
}

bool parse_into(std::string const& auth_lines, Config* cfg, ConfigError* err) {
    std::string const text = "[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\n[vpn]\ngateway = 192.0.2.1\n"
                             "local_id = client@example.org\nremote_id = gw.example.org\n"
                             "inner_address = 10.10.0.5/24\n" + auth_lines;
    return config_parse(text.data(), text.size(), cfg, err);
}

void expect_refused(std::string const& lines, char const* fragment) {
    Parsed const r = parse(lines);
    ASSERT_FALSE(r.ok) << lines;
    EXPECT_NE(std::string(r.err.message).find(fragment), std::string::npos) << r.err.message;
}

}  // namespace

TEST(IkeConfig, CertAuthTakesCaCertAndKeyModules) {
    Parsed const r = parse("auth = cert\nca = vpn-ca.pem\ncert = client.pem\nkey = client.key\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.cfg.vpn.auth, VpnAuth::Cert);
    EXPECT_STREQ(r.cfg.vpn.ca, "vpn-ca.pem");
    EXPECT_STREQ(r.cfg.vpn.cert, "client.pem");
    EXPECT_STREQ(r.cfg.vpn.key, "client.key");
    EXPECT_STREQ(r.cfg.vpn.psk, "");
}

TEST(IkeConfig, CertClassicIsCertificatesSigningWithMethods1And9) {
    Parsed const r = parse("auth = cert-classic\nca = vpn-ca.pem\ncert = client.pem\nkey = client.key\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.cfg.vpn.auth, VpnAuth::Cert);
    EXPECT_TRUE(r.cfg.vpn.cert_classic);
    EXPECT_TRUE(vpn::ike_config(r.cfg.vpn, vpn::IkeTimers{}).classic_sig);
    Parsed const plain = parse("auth = cert\nca = vpn-ca.pem\ncert = client.pem\nkey = client.key\n");
    ASSERT_TRUE(plain.ok);
    EXPECT_FALSE(plain.cfg.vpn.cert_classic);
    EXPECT_FALSE(vpn::ike_config(plain.cfg.vpn, vpn::IkeTimers{}).classic_sig);
    expect_refused("auth = cert-classic\nca = ca.pem\ncert = c.pem\n", "auth = cert needs 'ca', 'cert' and 'key'");
}

TEST(IkeConfig, GatewayPortReachesTheInitiatorAndTheEspFrames) {
    std::string text = "[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\n[vpn]\ngateway = 192.0.2.1:4501, 192.0.2.2\n"
                       "local_id = c@x.org\nremote_id = gw.x.org\ninner_address = 10.10.0.5/24\nauth = psk\npsk = p\n";
    Parsed r{};
    r.ok = config_parse(text.data(), text.size(), &r.cfg, &r.err);
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.cfg.vpn.gateways[0].port, 4501);
    EXPECT_EQ(r.cfg.vpn.gateways[1].port, 500);
    EXPECT_EQ(vpn::ike_config(r.cfg.vpn, vpn::IkeTimers{}).gateway_port, 4501);
    u8 frame[vpn::kOuterHeaderBytes + 16] = {};
    u8 const mac[6] = {2, 0, 0, 0, 0, 1};
    u32 const n = vpn::outer_frame(frame, mac, mac, 0x0100000a, 0x010200c0, 1, 16, 4501);
    EXPECT_EQ(n, sizeof frame);
    EXPECT_EQ(frame[34] << 8 | frame[35], 4500);  // from our NAT-T port
    EXPECT_EQ(frame[36] << 8 | frame[37], 4501);  // to the gateway's
}

TEST(IkeConfig, PskAuthStillNeedsItsModuleAndNothingElse) {
    Parsed const r = parse("auth = psk\npsk = vpn.psk\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.cfg.vpn.auth, VpnAuth::Psk);
    expect_refused("auth = psk\n", "lacks the required key 'psk' (auth = psk)");
    expect_refused("auth = psk\npsk = vpn.psk\nca = ca.pem\n", "are for auth = cert");
}

TEST(IkeConfig, CertAuthWithoutAllThreeOrWithAPskIsRefused) {
    expect_refused("auth = cert\nca = ca.pem\ncert = c.pem\n", "auth = cert needs 'ca', 'cert' and 'key'");
    expect_refused("auth = cert\ncert = c.pem\nkey = c.key\n", "auth = cert needs 'ca', 'cert' and 'key'");
    expect_refused("auth = cert\nca = a\ncert = c\nkey = k\npsk = p\n", "'psk' is for auth = psk");
}

TEST(IkeConfig, UnknownMethodAndRepeatedOrOverlongKeysAreRefused) {
    expect_refused("auth = eap\n", "bad value 'eap' for 'auth'");
    expect_refused("auth = cert\nca = a\nca = b\ncert = c\nkey = k\n", "key 'ca' given twice");
    expect_refused("auth = cert\nca = " + std::string(64, 'x') + "\ncert = c\nkey = k\n", "bad value");
}


TEST(IkeConfig, RsaSignatureChoosesPkcs1OrPssForCertificatesOnly) {
    static Config cfg;  // large: not on the stack
    ConfigError err{};
    std::string const cert = "auth = cert\nca = ca.pem\ncert = c.pem\nkey = c.key\n";
    ASSERT_TRUE(parse_into(cert, &cfg, &err)) << err.message;
    EXPECT_FALSE(vpn::ike_config(cfg.vpn, vpn::IkeTimers{}).rsa_pss);  // PKCS#1 v1.5 unless asked
    ASSERT_TRUE(parse_into(cert + "rsa_signature = pss\n", &cfg, &err)) << err.message;
    EXPECT_TRUE(vpn::ike_config(cfg.vpn, vpn::IkeTimers{}).rsa_pss);
    ASSERT_TRUE(parse_into(cert + "rsa_signature = pkcs1\n", &cfg, &err)) << err.message;
    EXPECT_FALSE(vpn::ike_config(cfg.vpn, vpn::IkeTimers{}).rsa_pss);
    EXPECT_FALSE(parse_into(cert + "rsa_signature = PSS\n", &cfg, &err));
    EXPECT_FALSE(parse_into(cert + "rsa_signature = pss-sha256\n", &cfg, &err));
    EXPECT_FALSE(parse_into(cert + "rsa_signature = pss\nrsa_signature = pss\n", &cfg, &err));
    EXPECT_FALSE(parse_into("auth = psk\npsk = p\nrsa_signature = pss\n", &cfg, &err));
    EXPECT_NE(std::string(err.message).find("'rsa_signature' is for auth = cert"), std::string::npos) << err.message;
    EXPECT_FALSE(parse_into("auth = cert-classic\nca = ca.pem\ncert = c.pem\nkey = c.key\nrsa_signature = pss\n", &cfg,
                           &err));
    EXPECT_NE(std::string(err.message).find("needs RFC 7427"), std::string::npos) << err.message;
}

}  // namespace tv
