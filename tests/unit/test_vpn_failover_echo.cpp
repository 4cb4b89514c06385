// The liveness pings (vpn/failover/echo): the request the monitor sends inside the tunnel, and
// which replies are the monitor's (never the guest's) and which are the guest's.
#include <gtest/gtest.h>

#include <string.h>

#include "vpn/failover/echo.hpp"

namespace tv::vpn::failover {
namespace {

constexpr EchoTag kTag{0x7400, 0x1122334455667788ull};
constexpr u32 kGuest = 0x0A00030A, kTarget = 0x0A010001;  // host order

u32 be(u32 host) { return __builtin_bswap32(host); }

u16 sum(u8 const* p, u32 n) {
    u32 s = 0;
    for (u32 i = 0; i + 1 < n; i += 2) s += u32{p[i]} << 8 | p[i + 1];
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<u16>(s);
}

// The target's answer to a request: addresses swapped, type 0, checksum fixed.
void answer(u8* p) {
    u8 t[4];
    memcpy(t, p + 12, 4);
    memcpy(p + 12, p + 16, 4);
    memcpy(p + 16, t, 4);
    p[20] = 0;
    p[22] = p[23] = 0;
    u16 const c = static_cast<u16>(~sum(p + 20, 16));
    p[22] = static_cast<u8>(c >> 8);
    p[23] = static_cast<u8>(c);
}

TEST(VpnFailoverEcho, RequestIsIcmpEchoFromTheGuestAddressWithValidChecksums) {
    u8 p[64];
    ASSERT_EQ(build_echo(p, sizeof p, be(kGuest), be(kTarget), 9, kTag, 1, 42), kEchoBytes);
    EXPECT_EQ(p[0], 0x45);
    EXPECT_EQ(p[9], 1);
    EXPECT_EQ(sum(p, 20), 0xFFFF);
    EXPECT_EQ(sum(p + 20, 16), 0xFFFF);
    EXPECT_EQ(p[20], 8);
    EXPECT_EQ(u32{p[24]} << 8 | p[25], 0x7401u);  // id + gateway
    EXPECT_EQ(u32{p[26]} << 8 | p[27], 42u);
    u32 src;
    memcpy(&src, p + 12, 4);
    EXPECT_EQ(src, be(kGuest));
    EXPECT_EQ(build_echo(p, kEchoBytes - 1, 0, 0, 0, kTag, 0, 0), 0u);
}

TEST(VpnFailoverEcho, TheTargetsReplyIsOursWithItsGatewayAndSequence) {
    u8 p[64];
    build_echo(p, sizeof p, be(kGuest), be(kTarget), 9, kTag, 1, 42);
    answer(p);
    EchoMatch const m = match_echo_reply(p, kEchoBytes, kTag, 2);
    EXPECT_TRUE(m.ours);
    EXPECT_EQ(m.gateway, 1u);
    EXPECT_EQ(m.seq, 42u);
    EXPECT_EQ(m.from_be, be(kTarget));
}

TEST(VpnFailoverEcho, AReplyWithoutOurCookieIsTheGuestsEvenWithOurIdentifier) {
    u8 p[64];
    EchoTag other = kTag;
    other.cookie ^= 1;
    build_echo(p, sizeof p, be(kGuest), be(kTarget), 9, other, 0, 1);
    answer(p);
    EXPECT_FALSE(match_echo_reply(p, kEchoBytes, kTag, 2).ours);
}

TEST(VpnFailoverEcho, RequestsOtherIdentifiersFragmentsAndShortPacketsAreNotOurs) {
    u8 p[64];
    build_echo(p, sizeof p, be(kGuest), be(kTarget), 9, kTag, 0, 1);
    EXPECT_FALSE(match_echo_reply(p, kEchoBytes, kTag, 2).ours);  // a request, not a reply
    answer(p);
    EXPECT_TRUE(match_echo_reply(p, kEchoBytes, kTag, 2).ours);
    EXPECT_FALSE(match_echo_reply(p, kEchoBytes - 1, kTag, 2).ours);
    EXPECT_FALSE(match_echo_reply(p, 10, kTag, 2).ours);
    u8 q[64];
    memcpy(q, p, sizeof q);
    q[24] = 0x75;  // another identifier
    EXPECT_FALSE(match_echo_reply(q, kEchoBytes, kTag, 2).ours);
    memcpy(q, p, sizeof q);
    q[6] = 0x20;  // more fragments
    EXPECT_FALSE(match_echo_reply(q, kEchoBytes, kTag, 2).ours);
    memcpy(q, p, sizeof q);
    q[9] = 17;
    EXPECT_FALSE(match_echo_reply(q, kEchoBytes, kTag, 2).ours);
    build_echo(p, sizeof p, be(kGuest), be(kTarget), 9, kTag, 3, 1);  // a gateway not configured
    answer(p);
    EXPECT_FALSE(match_echo_reply(p, kEchoBytes, kTag, 2).ours);
}

}  // namespace
}  // namespace tv::vpn::failover
