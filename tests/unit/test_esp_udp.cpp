// RFC 3948 demultiplexing on UDP port 4500 (vpn/esp_udp).
#include <gtest/gtest.h>
#include <string.h>

#include "vpn/esp_udp.hpp"

using namespace tv;
using namespace tv::vpn;

TEST(EspUdp, SingleFfByteIsANatKeepalive) {
    u8 const ka[] = {0xff};
    EXPECT_EQ(classify_udp4500(ka, 1), Udp4500Kind::Keepalive);
}

TEST(EspUdp, FourZeroBytesMarkIkeAndAnythingElseIsEsp) {
    u8 const ike[] = {0, 0, 0, 0, 0x11, 0x22};
    EXPECT_EQ(classify_udp4500(ike, sizeof ike), Udp4500Kind::Ike);
    u8 const esp[] = {0, 0, 0, 1, 0, 0, 0, 1};
    EXPECT_EQ(classify_udp4500(esp, sizeof esp), Udp4500Kind::Esp);
}

TEST(EspUdp, ShortPayloadsAndABareMarkerAreMalformed) {
    u8 const p[] = {0, 0, 0, 0};
    EXPECT_EQ(classify_udp4500(p, 0), Udp4500Kind::Malformed);
    EXPECT_EQ(classify_udp4500(p, 3), Udp4500Kind::Malformed);
    EXPECT_EQ(classify_udp4500(p, 4), Udp4500Kind::Malformed);
    u8 const zero1[] = {0};
    EXPECT_EQ(classify_udp4500(zero1, 1), Udp4500Kind::Malformed);
}

TEST(EspUdp, IkeIsSentBehindTheNonEspMarker) {
    u8 const ike[] = {1, 2, 3};
    u8 out[7] = {9, 9, 9, 9, 9, 9, 9};
    frame_ike_for_udp4500(ike, 3, out);
    u8 const want[] = {0, 0, 0, 0, 1, 2, 3};
    EXPECT_EQ(0, memcmp(out, want, 7));
    EXPECT_EQ(classify_udp4500(out, 7), Udp4500Kind::Ike);
}
