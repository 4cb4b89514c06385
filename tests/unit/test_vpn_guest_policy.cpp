// The VPN policy's routing: guest IPv4 into the tunnel when it is up, dropped and counted
// when it is down, never to the wire; every other guest frame dropped; the wire's frames to
// the monitor only; the tunnel's packets framed for the guest.
#include "tests/unit/test_vpn_guest_fake.hpp"
#include "vpn/guest/held_packet.hpp"

namespace tv::vpn::test {
namespace {

using VpnGuestPolicyTest = VpnGuestTest;

Bytes ping(u32 src = kInner, u32 dst = kFar, size_t data = 32) {
    Bytes icmp(8 + data, 0x77);
    icmp[0] = 8;
    icmp[1] = 0;
    wr16(icmp.data() + 2, 0);
    wr16(icmp.data() + 2, csum(icmp.data(), icmp.size()));
    return ipv4(src, dst, 1, icmp);
}

TEST_F(VpnGuestPolicyTest, IsACopyOutPolicy) {
    EXPECT_TRUE(policy.copy_out());
    EXPECT_TRUE(sw.copy_out());
}

TEST_F(VpnGuestPolicyTest, GuestIpv4GoesIntoTheTunnelWhenItIsUpAndNeverToTheWire) {
    Bytes const p = ping();
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, p));
    ASSERT_EQ(tunnel.sent.size(), 1u);
    EXPECT_EQ(tunnel.sent[0], p);  // the IP packet exactly, without Ethernet or its padding
    EXPECT_TRUE(sides.wire.empty());
    EXPECT_TRUE(sides.guest.empty());
    EXPECT_EQ(policy.counters().to_tunnel, 1u);
    EXPECT_EQ(policy.counters().total_drops(), 0u);
}

TEST_F(VpnGuestPolicyTest, GuestIpv4IsDroppedAndCountedWhenTheTunnelIsDown) {
    tunnel.is_up = false;
    for (int i = 0; i < 3; ++i) guest_sends(eth(kGatewayMac, kGuest, 0x0800, ping()));
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, udp(kInner, 0x08080808, 5353, 53, Bytes(20, 1))));
    EXPECT_TRUE(tunnel.sent.empty());
    EXPECT_TRUE(sides.wire.empty());
    EXPECT_EQ(drops(GuestDrop::TunnelDown), 4u);
    EXPECT_EQ(sw.counters().guest_to_wire, 0u);
    EXPECT_EQ(sw.counters().guest_dropped, 4u);
}

TEST_F(VpnGuestPolicyTest, APacketTheTunnelKeepsWhileComingUpIsClampedCountedAndGoesNowhereElse) {
    tunnel.is_up = false;
    tunnel.holds = true;
    Bytes const syn = tcp(kInner, kFar, 0x02, Bytes{2, 4, 0x05, 0xB4});  // MSS 1460
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, syn));
    ASSERT_EQ(tunnel.held.size(), 1u);
    EXPECT_EQ(rd16(tunnel.held[0].data() + 20 + 22), kTcpMss);  // clamped like a packet sent at once
    EXPECT_TRUE(tunnel.sent.empty());
    EXPECT_TRUE(sides.wire.empty());
    EXPECT_EQ(policy.counters().held, 1u);
    EXPECT_EQ(drops(GuestDrop::TunnelDown), 1u);  // it met the tunnel down: counted so, kept or not
}

TEST_F(VpnGuestPolicyTest, AnOversizedPacketIsNotOfferedToKeepButDropped) {
    tunnel.is_up = false;
    tunnel.holds = true;
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, ping(kInner, kFar, kInnerMtu)));  // 20 + 8 bytes over
    EXPECT_TRUE(tunnel.held.empty());
    EXPECT_EQ(drops(GuestDrop::TunnelDown), 1u);
}

TEST(VpnHeldPacket, KeepsTheLatestPacketAndCountsTheOneItReplaced) {
    HeldPacket h;
    u8 a[40] = {1}, b[60] = {2};
    ASSERT_TRUE(h.keep(a, sizeof a, 1000));
    ASSERT_TRUE(h.keep(b, sizeof b, 1005));
    u32 n = 0;
    u8 const* p = h.take(1010, &n);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(n, sizeof b);
    EXPECT_EQ(p[0], 2);
    EXPECT_FALSE(h.held());
    EXPECT_EQ(h.counts().kept, 2u);
    EXPECT_EQ(h.counts().sent, 1u);
    EXPECT_EQ(h.counts().dropped, 1u);
    EXPECT_EQ(h.take(1010, &n), nullptr);  // taken once
}

TEST(VpnHeldPacket, APacketOlderThanItsLimitIsDroppedNotSent) {
    HeldPacket h;
    u8 a[40] = {};
    ASSERT_TRUE(h.keep(a, sizeof a, 1000));
    u32 n = 0;
    EXPECT_EQ(h.take(1000 + HeldPacket::kMaxAgeMs + 1, &n), nullptr);
    EXPECT_EQ(h.counts().dropped, 1u);
    EXPECT_EQ(h.counts().sent, 0u);
    ASSERT_TRUE(h.keep(a, sizeof a, 2000));
    h.expire(2000 + HeldPacket::kMaxAgeMs, false);  // not yet too old
    EXPECT_TRUE(h.held());
    h.expire(2000 + HeldPacket::kMaxAgeMs + 1, false);
    EXPECT_FALSE(h.held());
    ASSERT_TRUE(h.keep(a, sizeof a, 3000));
    h.expire(3000, true);  // the set-up failed: dropped whatever its age
    EXPECT_FALSE(h.held());
    EXPECT_EQ(h.counts().dropped, 3u);
}

TEST(VpnHeldPacket, RefusesWhatCouldNotBeSealedWhole) {
    HeldPacket h;
    static u8 big[kInnerMtu + 1] = {};
    EXPECT_FALSE(h.keep(big, 0, 1));
    EXPECT_FALSE(h.keep(big, kInnerMtu + 1, 1));
    EXPECT_TRUE(h.keep(big, kInnerMtu, 1));
}

TEST(VpnHeldPacket, KnowsTheSourceOfWhatItHolds) {
    HeldPacket h;
    Bytes const p = ping();
    EXPECT_FALSE(h.from(kInner));
    ASSERT_TRUE(h.keep(p.data(), static_cast<u32>(p.size()), 1));
    EXPECT_TRUE(h.from(kInner));
    EXPECT_FALSE(h.from(kInner + 1));
}

TEST_F(VpnGuestPolicyTest, DhcpIsAnsweredEvenWhenTheTunnelIsDown) {
    tunnel.is_up = false;
    guest_sends(dhcp_frame(dhcp_msg(1, 0)));
    EXPECT_EQ(sides.guest.size(), 1u);
    EXPECT_TRUE(sides.wire.empty());
}

TEST_F(VpnGuestPolicyTest, EveryOtherEthertypeIsDroppedAndCounted) {
    guest_sends(eth(kGatewayMac, kGuest, 0x86DD, Bytes(60, 0x60)));                 // IPv6
    guest_sends(eth(MacAddr{{0x01, 0x80, 0xC2, 0, 0, 0x0E}}, kGuest, 0x88CC, {}));  // LLDP
    guest_sends(eth(kGatewayMac, kGuest, 0x8100, ping()));                          // VLAN-tagged
    guest_sends(eth(kMon, kGuest, 0x88B5, {}));                                     // the monitor's echo type
    EXPECT_EQ(drops(GuestDrop::OtherType), 4u);
    EXPECT_TRUE(sides.wire.empty());
    EXPECT_TRUE(tunnel.sent.empty());
}

TEST_F(VpnGuestPolicyTest, RuntAndBadIpv4AreDroppedAndCounted) {
    Bytes runt(10, 0);
    sw.from_guest(sw::Frame{runt.data(), 10});
    Bytes bad = eth(kGatewayMac, kGuest, 0x0800, ping());
    bad[14 + 10] ^= 0xFF;  // header checksum
    guest_sends(bad);
    Bytes longer = eth(kGatewayMac, kGuest, 0x0800, ping());
    wr16(longer.data() + 14 + 2, 1400);  // total length past the frame
    guest_sends(longer);
    EXPECT_EQ(drops(GuestDrop::Runt) + drops(GuestDrop::BadIpv4), 3u);
    EXPECT_EQ(drops(GuestDrop::BadIpv4), 2u);
    EXPECT_TRUE(tunnel.sent.empty());
    EXPECT_TRUE(sides.wire.empty());
}

TEST_F(VpnGuestPolicyTest, ASpoofedSourceAddressIsDropped) {
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, ping(0x0A0A0009)));
    EXPECT_EQ(drops(GuestDrop::NotGuestSource), 1u);
    EXPECT_TRUE(tunnel.sent.empty());
}

TEST_F(VpnGuestPolicyTest, PacketsForTheVirtualLanNeverEnterTheTunnel) {
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, ping(kInner, kGateway)));                        // the gateway
    guest_sends(eth(kBcast, kGuest, 0x0800, udp(kInner, 0xFFFFFFFF, 137, 137, Bytes(20, 1))));     // limited broadcast
    guest_sends(eth(kBcast, kGuest, 0x0800, udp(kInner, 0x0A0A00FF, 137, 137, Bytes(20, 1))));     // subnet broadcast
    MacAddr const mdns{{0x01, 0, 0x5E, 0, 0, 0xFB}};
    guest_sends(eth(mdns, kGuest, 0x0800, udp(kInner, 0xE00000FB, 5353, 5353, Bytes(20, 1))));  // multicast
    EXPECT_EQ(drops(GuestDrop::LocalDst), 4u);
    EXPECT_TRUE(tunnel.sent.empty());
    EXPECT_TRUE(sides.wire.empty());
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, ping(kInner, 0x0A0A0009)));  // another host of the subnet: routed
    EXPECT_EQ(tunnel.sent.size(), 1u);
}

TEST_F(VpnGuestPolicyTest, APacketTheTunnelRefusesIsCounted) {
    tunnel.refuse = true;
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, ping()));
    EXPECT_EQ(drops(GuestDrop::TunnelRefused), 1u);
    EXPECT_TRUE(sides.wire.empty());
}

TEST_F(VpnGuestPolicyTest, WireFramesGoToTheMonitorOnlyNeverToTheGuest) {
    int got = 0;
    ASSERT_EQ(sw.add_receiver(0, [](void* c, u8 const*, size_t) { ++*static_cast<int*>(c); }, &got), Status::Ok);
    wire_sends(eth(kGuest, MacAddr{{2, 0, 0, 0, 0, 9}}, 0x0800, ping(kFar, kInner)));  // for the guest's MAC
    wire_sends(eth(kBcast, MacAddr{{2, 0, 0, 0, 0, 9}}, 0x0806, Bytes(28, 0)));        // broadcast ARP
    wire_sends(eth(kMon, MacAddr{{2, 0, 0, 0, 0, 9}}, 0x0800, ping(kFar, 1)));          // the monitor's
    EXPECT_TRUE(sides.guest.empty());
    EXPECT_EQ(got, 2);
    EXPECT_EQ(drops(GuestDrop::WireForGuest), 1u);
    EXPECT_EQ(sw.counters().wire_to_guest, 0u);
}

TEST_F(VpnGuestPolicyTest, MonitorFramesGoToTheWireOnly) {
    Bytes const b = eth(kBcast, kMon, 0x0806, Bytes(28, 0));
    Bytes const u = eth(kGuest, kMon, 0x0800, ping(1, kInner));
    EXPECT_EQ(sw.send(b.data(), b.size()), Status::Ok);
    EXPECT_EQ(sw.send(u.data(), u.size()), Status::Ok);
    EXPECT_EQ(sides.wire.size(), 2u);
    EXPECT_TRUE(sides.guest.empty());
}

TEST_F(VpnGuestPolicyTest, TunnelPacketsReachTheGuestFramedFromTheGatewayWithBytesIntact) {
    guest_sends(arp_request(kInner, kGateway));  // the guest is heard from: its MAC is known
    sides.guest.clear();
    Bytes const p = udp(kFar, kInner, 53, 40000, Bytes(100, 0x42));
    policy.from_tunnel(p.data(), static_cast<u32>(p.size()));
    ASSERT_EQ(sides.guest.size(), 1u);
    Bytes const& f = sides.guest[0];
    EXPECT_EQ(0, memcmp(f.data(), kGuest.b, 6));
    EXPECT_EQ(0, memcmp(f.data() + 6, kGatewayMac.b, 6));
    EXPECT_EQ(rd16(f.data() + 12), 0x0800);
    ASSERT_EQ(f.size(), 14 + p.size());
    EXPECT_EQ(0, memcmp(f.data() + 14, p.data(), p.size()));
    EXPECT_TRUE(ip_checksum_ok(f.data() + 14));
    EXPECT_TRUE(l4_checksum_ok(f.data() + 14));
    EXPECT_EQ(policy.counters().from_tunnel, 1u);
    EXPECT_TRUE(sides.wire.empty());
}

TEST_F(VpnGuestPolicyTest, ShortTunnelPacketsArePaddedToTheEthernetMinimum) {
    guest_sends(arp_request(kInner, kGateway));
    sides.guest.clear();
    Bytes const p = ping(kFar, kInner, 0);
    policy.from_tunnel(p.data(), static_cast<u32>(p.size()));
    ASSERT_EQ(sides.guest.size(), 1u);
    EXPECT_EQ(sides.guest[0].size(), 60u);
    EXPECT_EQ(rd16(sides.guest[0].data() + 14 + 2), p.size());
}

TEST_F(VpnGuestPolicyTest, TunnelPacketsThatAreNotTheGuestsAreDropped) {
    Bytes const p = ping(kFar, kInner);
    policy.from_tunnel(p.data(), static_cast<u32>(p.size()));  // guest not heard from yet
    EXPECT_EQ(drops(GuestDrop::NoGuestMac), 1u);
    guest_sends(arp_request(kInner, kGateway));
    sides.guest.clear();
    Bytes const other = ping(kFar, 0x0A0A0009);
    policy.from_tunnel(other.data(), static_cast<u32>(other.size()));
    EXPECT_EQ(drops(GuestDrop::InnerNotGuest), 1u);
    Bytes bad = p;
    bad[0] = 0x65;
    policy.from_tunnel(bad.data(), static_cast<u32>(bad.size()));
    policy.from_tunnel(p.data(), 19);
    EXPECT_EQ(drops(GuestDrop::InnerBad), 2u);
    EXPECT_TRUE(sides.guest.empty());
}

TEST_F(VpnGuestPolicyTest, AFullGuestRingIsCounted) {
    sides.guest_full = true;
    guest_sends(arp_request(kInner, kGateway));
    EXPECT_EQ(drops(GuestDrop::GuestFull), 1u);
}

TEST(VpnGuestCounters, EveryDropReasonHasAName) {
    for (u32 i = 0; i < static_cast<u32>(GuestDrop::Count); ++i)
        EXPECT_STRNE(guest_drop_name(static_cast<GuestDrop>(i)), "?");
}

}  // namespace
}  // namespace tv::vpn::test
