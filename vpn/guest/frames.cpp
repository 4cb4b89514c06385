#include "vpn/guest/frames.hpp"

#include <string.h>

#include "vpn/guest/inet.hpp"

namespace tv::vpn {

using namespace inet;

void gateway_eth(u8* out, MacAddr dst, u16 type) {
    memcpy(out, dst.b, 6);
    memcpy(out + 6, kGatewayMac.b, 6);
    put16(out + 12, type);
}

u32 gateway_ip_frame(u8* out, MacAddr dst, u32 src_ip, u32 dst_ip, u8 proto, u32 payload_len, u16 id) {
    gateway_eth(out, dst, kTypeIpv4);
    ipv4_header(out + kEthHeader, src_ip, dst_ip, proto, static_cast<u16>(kIpHeader + payload_len), id);
    return kEthHeader + kIpHeader + payload_len;
}

u32 gateway_udp_frame(u8* out, MacAddr dst, u32 src_ip, u32 dst_ip, u16 sport, u16 dport, u32 len, u16 id) {
    u8* const udp = out + kEthHeader + kIpHeader;
    u16 const ulen = static_cast<u16>(8 + len);
    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, ulen);
    put16(udp + 6, 0);
    u32 pseudo = (src_ip >> 16) + (src_ip & 0xFFFF) + (dst_ip >> 16) + (dst_ip & 0xFFFF) + kProtoUdp + ulen;
    u16 c = fold(sum(udp, ulen, pseudo));
    put16(udp + 6, c ? c : 0xFFFF);  // 0 would mean "no checksum"
    return gateway_ip_frame(out, dst, src_ip, dst_ip, kProtoUdp, ulen, id);
}

}  // namespace tv::vpn
