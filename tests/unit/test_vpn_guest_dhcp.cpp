// The virtual gateway's DHCP server and ARP: the guest gets the tunnel's inner address, the
// gateway as its router, and an ARP answer for the gateway and for nothing else.
#include "tests/unit/test_vpn_guest_fake.hpp"

namespace tv::vpn::test {
namespace {

class VpnGuestDhcp : public VpnGuestTest {
  protected:
    // The one reply the guest got: its BOOTP message, after checking the frame around it.
    u8 const* reply_bootp() {
        EXPECT_EQ(sides.guest.size(), 1u);
        if (sides.guest.size() != 1) return nullptr;
        Bytes const& f = sides.guest[0];
        EXPECT_EQ(0, memcmp(f.data() + 6, kGatewayMac.b, 6));
        EXPECT_EQ(rd16(f.data() + 12), 0x0800);
        u8 const* ip = f.data() + 14;
        EXPECT_TRUE(ip_checksum_ok(ip));
        EXPECT_TRUE(l4_checksum_ok(ip));
        EXPECT_EQ(rd32(ip + 12), kGateway);
        EXPECT_EQ(rd16(ip + 20), 67);
        EXPECT_EQ(rd16(ip + 22), 68);
        return ip + 28;
    }
    // The value of option `code` in a reply (nullptr if absent); its length in *len.
    static u8 const* option(u8 const* m, u8 code, u8* len) {
        for (u32 i = 240; i < 300 && m[i] != 255;) {
            if (m[i] == 0) {
                ++i;
                continue;
            }
            if (m[i] == code) {
                *len = m[i + 1];
                return m + i + 2;
            }
            i += 2u + m[i + 1];
        }
        return nullptr;
    }
    u8 msg_type(u8 const* m) {
        u8 n = 0;
        u8 const* v = option(m, 53, &n);
        return v && n == 1 ? v[0] : 0;
    }
};

TEST_F(VpnGuestDhcp, DiscoverIsOfferedTheTunnelAddressWithEveryOption) {
    guest_sends(dhcp_frame(dhcp_msg(1, 0)));
    u8 const* m = reply_bootp();
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m[0], 2);
    EXPECT_EQ(rd32(m + 4), 0xCAFEF00Du);
    EXPECT_EQ(msg_type(m), 2);
    EXPECT_EQ(rd32(m + 16), kInner);  // yiaddr
    EXPECT_EQ(0, memcmp(m + 28, kGuest.b, 6));
    u8 n = 0;
    u8 const* v = option(m, 1, &n);
    ASSERT_TRUE(v && n == 4);
    EXPECT_EQ(rd32(v), 0xFFFFFF00u);
    v = option(m, 3, &n);
    ASSERT_TRUE(v && n == 4);
    EXPECT_EQ(rd32(v), kGateway);
    v = option(m, 6, &n);
    ASSERT_TRUE(v && n == 4);
    EXPECT_EQ(rd32(v), kDns);
    v = option(m, 51, &n);
    ASSERT_TRUE(v && n == 4);
    EXPECT_EQ(rd32(v), 3600u);
    v = option(m, 54, &n);
    ASSERT_TRUE(v && n == 4);
    EXPECT_EQ(rd32(v), kGateway);
    v = option(m, 26, &n);
    ASSERT_TRUE(v && n == 2);
    EXPECT_EQ(rd16(v), kInnerMtu);
    EXPECT_EQ(0, memcmp(sides.guest[0].data(), kGuest.b, 6));  // unicast to the client's MAC
    EXPECT_TRUE(sides.wire.empty());
    EXPECT_EQ(policy.counters().dhcp_offers, 1u);
}

TEST_F(VpnGuestDhcp, RequestForTheTunnelAddressIsAcked) {
    Bytes o = opt32(50, kInner), s = opt32(54, kGateway);
    o.insert(o.end(), s.begin(), s.end());
    guest_sends(dhcp_frame(dhcp_msg(3, 0, o)));
    u8 const* m = reply_bootp();
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(msg_type(m), 5);
    EXPECT_EQ(rd32(m + 16), kInner);
    EXPECT_EQ(rd32(sides.guest[0].data() + 14 + 16), kInner);  // to the address offered
    EXPECT_EQ(policy.counters().dhcp_acks, 1u);
    EXPECT_TRUE(sides.wire.empty());
}

TEST_F(VpnGuestDhcp, RequestForAnotherAddressIsNakedByBroadcast) {
    guest_sends(dhcp_frame(dhcp_msg(3, 0, opt32(50, 0xC0A80177))));
    u8 const* m = reply_bootp();
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(msg_type(m), 6);
    EXPECT_EQ(rd32(m + 16), 0u);
    EXPECT_EQ(rd32(sides.guest[0].data() + 14 + 16), 0xFFFFFFFFu);
    EXPECT_EQ(policy.counters().dhcp_naks, 1u);
}

TEST_F(VpnGuestDhcp, RequestNamingAnotherServerIsIgnored) {
    Bytes o = opt32(50, kInner), s = opt32(54, 0x0A0A00FE);
    o.insert(o.end(), s.begin(), s.end());
    guest_sends(dhcp_frame(dhcp_msg(3, 0, o)));
    EXPECT_TRUE(sides.guest.empty());
    EXPECT_TRUE(sides.wire.empty());
    EXPECT_EQ(drops(GuestDrop::DhcpIgnored), 1u);
}

TEST_F(VpnGuestDhcp, RenewIsAckedUnicastToTheClientAddress) {
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, udp(kInner, kGateway, 68, 67, dhcp_msg(3, kInner))));
    u8 const* m = reply_bootp();
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(msg_type(m), 5);
    EXPECT_EQ(rd32(sides.guest[0].data() + 14 + 16), kInner);
    EXPECT_EQ(0, memcmp(sides.guest[0].data(), kGuest.b, 6));
}

TEST_F(VpnGuestDhcp, BroadcastFlagGetsABroadcastReply) {
    guest_sends(dhcp_frame(dhcp_msg(1, 0, {}, true)));
    ASSERT_EQ(sides.guest.size(), 1u);
    EXPECT_EQ(0, memcmp(sides.guest[0].data(), kBcast.b, 6));
    EXPECT_EQ(rd32(sides.guest[0].data() + 14 + 16), 0xFFFFFFFFu);
}

TEST_F(VpnGuestDhcp, ReleaseIsCountedAndNotAnswered) {
    Bytes const release = dhcp_msg(7, kInner, opt32(54, kGateway));
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, udp(kInner, kGateway, 68, 67, release)));
    EXPECT_TRUE(sides.guest.empty());
    EXPECT_TRUE(sides.wire.empty());
    EXPECT_TRUE(tunnel.sent.empty());
    EXPECT_EQ(policy.counters().dhcp_releases, 1u);
}

TEST_F(VpnGuestDhcp, MalformedDhcpIsIgnoredAndCounted) {
    Bytes m = dhcp_msg(1, 0);
    m.pop_back();
    m.insert(m.end(), {61, 200, 1});  // an option running past the message
    guest_sends(dhcp_frame(m));
    Bytes bad_cookie = dhcp_msg(1, 0);
    bad_cookie[236] = 0;
    guest_sends(dhcp_frame(bad_cookie));
    EXPECT_TRUE(sides.guest.empty());
    EXPECT_EQ(drops(GuestDrop::DhcpIgnored), 2u);
}

TEST_F(VpnGuestDhcp, ArpForTheGatewayIsAnsweredFromTheGatewayMac) {
    guest_sends(arp_request(kInner, kGateway));
    ASSERT_EQ(sides.guest.size(), 1u);
    Bytes const& r = sides.guest[0];
    EXPECT_EQ(0, memcmp(r.data(), kGuest.b, 6));
    EXPECT_EQ(rd16(r.data() + 12), 0x0806);
    EXPECT_EQ(rd16(r.data() + 14 + 6), 2);
    EXPECT_EQ(0, memcmp(r.data() + 14 + 8, kGatewayMac.b, 6));
    EXPECT_EQ(rd32(r.data() + 14 + 14), kGateway);
    EXPECT_EQ(0, memcmp(r.data() + 14 + 18, kGuest.b, 6));
    EXPECT_EQ(rd32(r.data() + 14 + 24), kInner);
    EXPECT_TRUE(kGatewayMac.b[0] & 2);  // locally administered
    EXPECT_EQ(policy.counters().arp_replies, 1u);
    EXPECT_TRUE(sides.wire.empty());
}

TEST_F(VpnGuestDhcp, ArpForAnyOtherAddressIsDroppedAndCounted) {
    guest_sends(arp_request(kInner, 0x0A0A0009));  // another host on the subnet
    guest_sends(arp_request(0, kInner));           // the guest probing its own address
    guest_sends(arp_request(kInner, kInner));      // its announcement
    EXPECT_TRUE(sides.guest.empty());
    EXPECT_TRUE(sides.wire.empty());
    EXPECT_EQ(drops(GuestDrop::ArpOther), 3u);
}

TEST(VpnGuestNet, GatewayIsTheSubnetsFirstHostOrItsLast) {
    EXPECT_EQ(gateway_for(0x0A0A0005, 24), 0x0A0A0001u);
    EXPECT_EQ(gateway_for(0x0A0A0001, 24), 0x0A0A00FEu);
    EXPECT_EQ(gateway_for(0x0A0A0001, 30), 0x0A0A0002u);
    EXPECT_EQ(gateway_for(0x0A0A0005, 32), 0u);
    EXPECT_EQ(gateway_for(0x0A0A0005, 31), 0u);
    EXPECT_EQ(gateway_for(0x0A0A0000, 24), 0u);
    EXPECT_EQ(gateway_for(0x0A0A00FF, 24), 0u);
}

}  // namespace
}  // namespace tv::vpn::test
