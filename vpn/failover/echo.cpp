#include "vpn/failover/echo.hpp"

#include <string.h>

namespace tv::vpn::failover {

namespace {

void put16(u8* p, u32 v) {
    p[0] = static_cast<u8>(v >> 8);
    p[1] = static_cast<u8>(v);
}

u16 get16(u8 const* p) { return static_cast<u16>(u32{p[0]} << 8 | p[1]); }

u16 checksum(u8 const* p, u32 len) {
    u32 sum = 0;
    for (u32 i = 0; i + 1 < len; i += 2) sum += u32{p[i]} << 8 | p[i + 1];
    if (len & 1) sum += u32{p[len - 1]} << 8;
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<u16>(~sum);
}

constexpr u8 kIcmp = 1, kEchoRequest = 8, kEchoReply = 0;

}  // namespace

u32 build_echo(u8* out, u32 cap, u32 src_be, u32 dst_be, u16 ip_id, EchoTag const& tag, u32 g, u16 seq) {
    if (cap < kEchoBytes) return 0;
    u8* ip = out;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, kEchoBytes);
    put16(ip + 4, ip_id);
    put16(ip + 6, 0x4000);  // DF: a liveness ping is never fragmented
    ip[8] = 64;
    ip[9] = kIcmp;
    put16(ip + 10, 0);
    memcpy(ip + 12, &src_be, 4);
    memcpy(ip + 16, &dst_be, 4);
    put16(ip + 10, checksum(ip, 20));
    u8* icmp = ip + 20;
    icmp[0] = kEchoRequest;
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, static_cast<u16>(tag.id + g));
    put16(icmp + 6, seq);
    memcpy(icmp + 8, &tag.cookie, 8);
    put16(icmp + 2, checksum(icmp, 16));
    return kEchoBytes;
}

EchoMatch match_echo_reply(u8 const* p, u32 len, EchoTag const& tag, u32 gateways) {
    EchoMatch m{};
    if (len < 20 || (p[0] >> 4) != 4) return m;
    u32 const ihl = (p[0] & 15u) * 4u;
    u32 const total = get16(p + 2);
    if (ihl < 20 || total > len || total < ihl + 16 || p[9] != kIcmp) return m;
    if ((get16(p + 6) & 0x3FFF) != 0) return m;  // a fragment is never ours
    u8 const* icmp = p + ihl;
    if (icmp[0] != kEchoReply || icmp[1] != 0 || total != ihl + 16) return m;
    u32 const g = static_cast<u16>(get16(icmp + 4) - tag.id);
    if (g >= gateways || memcmp(icmp + 8, &tag.cookie, 8) != 0) return m;
    m.ours = true;
    m.gateway = g;
    m.seq = get16(icmp + 6);
    memcpy(&m.from_be, p + 12, 4);
    return m;
}

}  // namespace tv::vpn::failover
