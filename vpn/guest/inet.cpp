#include "vpn/guest/inet.hpp"

namespace tv::vpn::inet {

u32 sum(u8 const* p, u32 len, u32 s) {
    for (u32 i = 0; i + 1 < len; i += 2) s += get16(p + i);
    if (len & 1) s += u32{p[len - 1]} << 8;
    return s;
}

u16 fold(u32 s) {
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<u16>(~s);
}

u16 checksum_update(u16 check, u16 old_word, u16 new_word) {
    // HC' = ~(~HC + ~m + m')
    u32 s = u32{static_cast<u16>(~check)} + static_cast<u16>(~old_word) + new_word;
    return fold(s);
}

bool ipv4_parse(u8 const* p, u32 len, Ipv4View* out) {
    if (len < kIpHeader || (p[0] >> 4) != 4) return false;
    u32 const header = (p[0] & 0xFu) * 4u;
    u32 const total = get16(p + 2);
    if (header < kIpHeader || header > len || total < header || total > len) return false;
    if (fold(sum(p, header)) != 0) return false;
    *out = Ipv4View{p, header, total};
    return true;
}

void ipv4_header(u8* p, u32 src, u32 dst, u8 proto, u16 total, u16 id) {
    p[0] = 0x45;
    p[1] = 0;
    put16(p + 2, total);
    put16(p + 4, id);
    put16(p + 6, 0);
    p[8] = 64;
    p[9] = proto;
    put16(p + 10, 0);
    put32(p + 12, src);
    put32(p + 16, dst);
    put16(p + 10, fold(sum(p, kIpHeader)));
}

}  // namespace tv::vpn::inet
