// The tunnel's trap layer, its pure parts (vpn/monitor/tunnel_pure): [vpn] as the initiator's
// configuration, and the outer headers of the ESP-in-UDP frames the monitor builds itself.
#include <gtest/gtest.h>

#include <string.h>

#include <string>

#include "core/config.hpp"
#include "vpn/ike/constants.hpp"
#include "vpn/monitor/tunnel_pure.hpp"

namespace tv::vpn {
namespace {

Config parse(std::string const& vpn_extra) {
    std::string const text = "[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\n[vpn]\n"
                             "gateway = 192.0.2.1, 198.51.100.7:4500\nlocal_id = client@example.org\n"
                             "remote_id = gw.example.org\nauth = psk\npsk = vpn.psk\n"
                             "inner_address = 10.10.0.5/24\n" + vpn_extra;
    Config c{};
    ConfigError e{};
    EXPECT_TRUE(config_parse(text.data(), text.size(), &c, &e)) << e.message;
    return c;
}

constexpr IkeTimers kTimers{500, 2000, 5, 2000, 20000};

TEST(VpnTunnelConfig, DefaultsOfferEveryGroupAndBothKeySizesStrongestFirst) {
    ike::Config const c = ike_config(parse("").vpn, kTimers);
    EXPECT_EQ(c.groups[0], ike::group::kCurve25519);
    EXPECT_EQ(c.groups[1], ike::group::kEcp256);
    EXPECT_EQ(c.groups[2], ike::group::kModp2048);
    EXPECT_EQ(c.key_bits[0], 256);
    EXPECT_EQ(c.key_bits[1], 128);
    EXPECT_TRUE(c.force_encap);  // kernel-libipsec always encapsulates
}

TEST(VpnTunnelConfig, FirstGatewayIdentitiesTimersAndLifetimes) {
    ike::Config const c = ike_config(parse("dpd_interval = 7\nchild_lifetime = 20\nike_lifetime = 30\n").vpn, kTimers);
    u8 const gw[4] = {192, 0, 2, 1};
    EXPECT_EQ(memcmp(c.gateway_ip, gw, 4), 0);
    EXPECT_EQ(c.local_id.type, ike::idtype::kRfc822);
    EXPECT_EQ(std::string(reinterpret_cast<char const*>(c.local_id.data), c.local_id.len), "client@example.org");
    EXPECT_EQ(c.remote_id.type, ike::idtype::kFqdn);
    EXPECT_EQ(c.dpd_ms, 7000u);
    EXPECT_EQ(c.child_rekey_ms, 20000u);
    EXPECT_EQ(c.ike_rekey_ms, 30000u);
    EXPECT_EQ(c.retransmit_ms, 500u);
    EXPECT_EQ(c.retransmit_max_ms, 2000u);
    EXPECT_EQ(c.retransmit_tries, 5);
    EXPECT_EQ(c.restart_ms, 2000u);
    EXPECT_EQ(c.keepalive_ms, 20000u);
}

TEST(VpnTunnelConfig, ProposalsNarrowGroupsAndKeySizesToWhatBothAllow) {
    ike::Config const c =
        ike_config(parse("ike_proposals = aes128gcm16-aes256gcm16-prfsha256-modp2048\n"
                         "esp_proposals = aes128gcm16\n").vpn, kTimers);
    EXPECT_EQ(c.groups[0], ike::group::kModp2048);
    EXPECT_EQ(c.groups[1], 0);
    EXPECT_EQ(c.key_bits[0], 128);  // ESP allows only 128: the one list serves both
    EXPECT_EQ(c.key_bits[1], 0);
}

TEST(VpnTunnelIdentity, ReadAsStrongSwanDoes) {
    ike::Identity a = ike_identity("192.0.2.9");
    EXPECT_EQ(a.type, ike::idtype::kIpv4);
    ASSERT_EQ(a.len, 4);
    EXPECT_EQ(a.data[0], 192);
    EXPECT_EQ(a.data[3], 9);
    ike::Identity f = ike_identity("@gw.example.org");
    EXPECT_EQ(f.type, ike::idtype::kFqdn);
    EXPECT_EQ(std::string(reinterpret_cast<char const*>(f.data), f.len), "gw.example.org");
    EXPECT_EQ(ike_identity("192.0.2.256").type, ike::idtype::kFqdn);  // not an address
    EXPECT_EQ(ike_identity("1.2.3").type, ike::idtype::kFqdn);
    EXPECT_EQ(ike_identity("user@host").type, ike::idtype::kRfc822);
}

u16 sum16(u8 const* p, size_t n) {
    u32 s = 0;
    for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<u32>(p[i] << 8 | p[i + 1]);
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<u16>(s);
}

TEST(VpnTunnelComingUp, WhileTheFirstChildSaIsNegotiatedOrItsRestartIsDue) {
    using ike::State;
    EXPECT_TRUE(sa_coming_up(State::InitSent, 0, 0, 1000, 100));
    EXPECT_TRUE(sa_coming_up(State::AuthSent, 0, 0, 1000, 100));
    EXPECT_FALSE(sa_coming_up(State::AuthSent, 0x1234, 0, 1000, 100));  // an SA carries it already
    EXPECT_FALSE(sa_coming_up(State::Established, 0x1234, 0, 1000, 100));
    EXPECT_FALSE(sa_coming_up(State::Failed, 0, 0, 1000, 100));     // no restart planned
    EXPECT_FALSE(sa_coming_up(State::Failed, 0, 1101, 1000, 100));  // a restart too far off
    EXPECT_TRUE(sa_coming_up(State::Failed, 0, 1100, 1000, 100));
    EXPECT_TRUE(sa_coming_up(State::Failed, 0, 900, 1000, 100));  // overdue: the next tick starts it
    EXPECT_FALSE(sa_coming_up(State::Idle, 0, 0, 1000, 100));
    EXPECT_FALSE(sa_coming_up(State::Closed, 0, 0, 1000, 100));
    EXPECT_FALSE(sa_coming_up(State::Deleting, 0, 0, 1000, 100));
}

TEST(VpnTunnelOuterFrame, EthernetIpv4AndUdp4500AroundTheEspPacket) {
    u8 f[1600] = {};
    u8 const dst[6] = {2, 0, 0, 0, 0, 1}, src[6] = {0x52, 0x54, 0, 0xaa, 0xbb, 2};
    u32 const me = 0x0200000A, gw = 0x0100000A;  // 10.0.0.2, 10.0.0.1 in network order
    u32 const n = outer_frame(f, dst, src, me, gw, 0x1234, 100);
    EXPECT_EQ(n, 14u + 20 + 8 + 100);
    EXPECT_EQ(memcmp(f, dst, 6), 0);
    EXPECT_EQ(memcmp(f + 6, src, 6), 0);
    EXPECT_EQ(f[12], 0x08);
    EXPECT_EQ(f[13], 0x00);
    u8 const* ip = f + 14;
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(ip[2] << 8 | ip[3], 128);  // total length
    EXPECT_EQ(ip[4] << 8 | ip[5], 0x1234);
    EXPECT_EQ(ip[9], 17);
    EXPECT_EQ(sum16(ip, 20), 0xFFFF);  // the header checksum verifies
    EXPECT_EQ(memcmp(ip + 12, &me, 4), 0);
    EXPECT_EQ(memcmp(ip + 16, &gw, 4), 0);
    u8 const* udp = ip + 20;
    EXPECT_EQ(udp[0] << 8 | udp[1], 4500);
    EXPECT_EQ(udp[2] << 8 | udp[3], 4500);
    EXPECT_EQ(udp[4] << 8 | udp[5], 108);
    EXPECT_EQ(udp[6] | udp[7], 0);  // RFC 3948: checksum 0
}

}  // namespace
}  // namespace tv::vpn
