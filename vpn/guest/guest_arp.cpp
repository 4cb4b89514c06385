#include "vpn/guest/guest_arp.hpp"

#include <string.h>

#include "vpn/guest/frames.hpp"
#include "vpn/guest/inet.hpp"

namespace tv::vpn {

using namespace inet;

u32 arp_answer(u32 gateway, u8 const* f, u32 len, u8* out) {
    constexpr u32 kArpLen = 28, kMinFrame = 60;
    if (len < kEthHeader + kArpLen) return 0;
    u8 const* a = f + kEthHeader;
    if (get16(a) != 1 || get16(a + 2) != kTypeIpv4 || a[4] != 6 || a[5] != 4 || get16(a + 6) != 1) return 0;
    if (get32(a + 24) != gateway) return 0;
    MacAddr asker{};
    memcpy(asker.b, a + 8, 6);
    if (asker.b[0] & 1) return 0;  // a group address cannot have asked
    memset(out, 0, kMinFrame);
    gateway_eth(out, asker, kTypeArp);
    u8* r = out + kEthHeader;
    put16(r, 1);
    put16(r + 2, kTypeIpv4);
    r[4] = 6;
    r[5] = 4;
    put16(r + 6, 2);
    memcpy(r + 8, kGatewayMac.b, 6);
    put32(r + 14, gateway);
    memcpy(r + 18, asker.b, 6);
    memcpy(r + 24, a + 14, 4);
    return kMinFrame;
}

}  // namespace tv::vpn
