// Packet sizes through the tunnel: the MSS clamped on SYNs both ways with valid checksums,
// ICMP "fragmentation needed" for an oversized DF packet, fragmentation before encryption
// for one without DF.
#include "tests/unit/test_vpn_guest_fake.hpp"

namespace tv::vpn::test {
namespace {

using VpnGuestSize = VpnGuestTest;

constexpr u8 kSyn = 0x02, kAck = 0x10;

Bytes mss_option(u16 mss) { return Bytes{2, 4, static_cast<u8>(mss >> 8), static_cast<u8>(mss), 1, 1, 1, 0}; }
u16 mss_of(Bytes const& ip, size_t at) { return rd16(ip.data() + 20 + 20 + at + 2); }

TEST(VpnGuestMtu, InnerMtuLeavesRoomForEspInUdpInA1500ByteLink) {
    // outer IPv4 + UDP + SPI/seq + IV + inner + pad/trailer + ICV
    u32 const outer = 20 + 8 + 8 + 8 + kInnerMtu + 2 + 16;
    EXPECT_EQ(outer, 1500u);
    EXPECT_EQ((kInnerMtu + 2) % 4, 0u);  // no padding needed
    EXPECT_EQ(kTcpMss, 1398u);
}

TEST_F(VpnGuestSize, GuestSynMssIsClampedWithAValidChecksum) {
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, tcp(kInner, kFar, kSyn, mss_option(1460))));
    ASSERT_EQ(tunnel.sent.size(), 1u);
    EXPECT_EQ(mss_of(tunnel.sent[0], 0), kTcpMss);
    EXPECT_TRUE(l4_checksum_ok(tunnel.sent[0].data()));
    EXPECT_TRUE(ip_checksum_ok(tunnel.sent[0].data()));
    EXPECT_EQ(policy.counters().mss_clamped, 1u);
}

TEST_F(VpnGuestSize, MssAtAnOddOffsetIsClampedWithAValidChecksum) {
    Bytes opts{1, 2, 4, 0x05, 0xB4, 1, 1, 0};  // NOP, then MSS 1460 at offset 1
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, tcp(kInner, kFar, kSyn, opts)));
    ASSERT_EQ(tunnel.sent.size(), 1u);
    EXPECT_EQ(rd16(tunnel.sent[0].data() + 40 + 3), kTcpMss);
    EXPECT_TRUE(l4_checksum_ok(tunnel.sent[0].data()));
}

TEST_F(VpnGuestSize, SmallMssAndNonSynSegmentsAreLeftAlone) {
    Bytes const small = tcp(kInner, kFar, kSyn, mss_option(536));
    Bytes const ack = tcp(kInner, kFar, kAck, mss_option(1460));
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, small));
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, ack));
    ASSERT_EQ(tunnel.sent.size(), 2u);
    EXPECT_EQ(tunnel.sent[0], small);
    EXPECT_EQ(tunnel.sent[1], ack);
    EXPECT_EQ(policy.counters().mss_clamped, 0u);
}

TEST_F(VpnGuestSize, SynAckFromTheTunnelIsClampedToo) {
    guest_sends(arp_request(kInner, kGateway));
    sides.guest.clear();
    Bytes const p = tcp(kFar, kInner, kSyn | kAck, mss_option(1460));
    policy.from_tunnel(p.data(), static_cast<u32>(p.size()));
    ASSERT_EQ(sides.guest.size(), 1u);
    u8 const* ip = sides.guest[0].data() + 14;
    EXPECT_EQ(rd16(ip + 42), kTcpMss);
    EXPECT_TRUE(l4_checksum_ok(ip));
}

TEST_F(VpnGuestSize, APacketOfExactlyTheInnerMtuGoesWhole) {
    Bytes const p = udp(kInner, kFar, 1, 2, Bytes(kInnerMtu - 28, 3));
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, p));
    ASSERT_EQ(tunnel.sent.size(), 1u);
    EXPECT_EQ(tunnel.sent[0], p);
}

TEST_F(VpnGuestSize, AnOversizedDfPacketGetsFragmentationNeededFromTheGateway) {
    Bytes const p = ipv4(kInner, kFar, 17, Bytes(1480 - 20 + 20, 9), true);
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, p));
    EXPECT_TRUE(tunnel.sent.empty());
    EXPECT_TRUE(sides.wire.empty());
    ASSERT_EQ(sides.guest.size(), 1u);
    u8 const* ip = sides.guest[0].data() + 14;
    EXPECT_EQ(0, memcmp(sides.guest[0].data() + 6, kGatewayMac.b, 6));
    EXPECT_TRUE(ip_checksum_ok(ip));
    EXPECT_EQ(rd32(ip + 12), kGateway);
    EXPECT_EQ(rd32(ip + 16), kInner);
    EXPECT_EQ(ip[9], 1);
    u8 const* icmp = ip + 20;
    EXPECT_EQ(icmp[0], 3);
    EXPECT_EQ(icmp[1], 4);
    EXPECT_EQ(rd16(icmp + 6), kInnerMtu);
    EXPECT_EQ(0, memcmp(icmp + 8, p.data(), 28));  // the original header and 8 bytes
    EXPECT_EQ(csum(icmp, rd16(ip + 2) - 20u), 0);
    EXPECT_EQ(policy.counters().frag_needed, 1u);
}

TEST_F(VpnGuestSize, AnOversizedPacketWithoutDfIsFragmentedBeforeEncryption) {
    Bytes data(1472, 0);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<u8>(i * 7);
    Bytes const p = udp(kInner, kFar, 1, 2, data);  // 1500 bytes
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, p));
    ASSERT_EQ(tunnel.sent.size(), 2u);
    Bytes whole;
    u32 expect_off = 0;
    for (size_t i = 0; i < tunnel.sent.size(); ++i) {
        Bytes const& f = tunnel.sent[i];
        EXPECT_LE(f.size(), kInnerMtu);
        EXPECT_TRUE(ip_checksum_ok(f.data()));
        EXPECT_EQ(rd16(f.data() + 2), f.size());
        EXPECT_EQ(rd16(f.data() + 4), 0x1234);  // the same identification
        u16 const ff = rd16(f.data() + 6);
        EXPECT_EQ((ff & 0x1FFFu) * 8u, expect_off);
        EXPECT_EQ((ff & 0x2000) != 0, i + 1 < tunnel.sent.size());
        whole.insert(whole.end(), f.begin() + 20, f.end());
        expect_off += static_cast<u32>(f.size() - 20);
    }
    EXPECT_EQ(whole, Bytes(p.begin() + 20, p.end()));
    EXPECT_EQ(policy.counters().fragmented, 1u);
    EXPECT_EQ(policy.counters().fragments, 2u);
    EXPECT_TRUE(sides.wire.empty());
}

TEST_F(VpnGuestSize, AnOversizedPacketWithOptionsAndNoDfIsDropped) {
    Bytes p = udp(kInner, kFar, 1, 2, Bytes(1460, 0));
    p.insert(p.begin() + 20, {1, 1, 1, 0});  // four option bytes
    p[0] = 0x46;
    wr16(p.data() + 2, static_cast<u32>(p.size()));
    wr16(p.data() + 10, 0);
    wr16(p.data() + 10, csum(p.data(), 24));
    guest_sends(eth(kGatewayMac, kGuest, 0x0800, p));
    EXPECT_TRUE(tunnel.sent.empty());
    EXPECT_EQ(drops(GuestDrop::TooBigOptions), 1u);
}

}  // namespace
}  // namespace tv::vpn::test
