#include "vpn/guest/ip_size.hpp"

#include <string.h>

#include "vpn/guest/frames.hpp"

namespace tv::vpn {

using namespace inet;

bool clamp_mss(u8* p, Ipv4View const& v, u16 mss) {
    if (v.proto() != kProtoTcp || (v.frag_field() & 0x1FFF) != 0 || v.payload_len() < 20) return false;
    u8* const tcp = p + v.header;
    u32 const doff = (tcp[12] >> 4) * 4u;
    if (!(tcp[13] & 0x02) || doff < 20 || doff > v.payload_len()) return false;  // SYN only
    for (u32 i = 20; i < doff;) {
        u8 const kind = tcp[i];
        if (kind == 0) break;
        if (kind == 1) {
            ++i;
            continue;
        }
        if (i + 1 >= doff || tcp[i + 1] < 2 || i + tcp[i + 1] > doff) break;
        if (kind == 2 && tcp[i + 1] == 4) {
            u16 const old = get16(tcp + i + 2);
            if (old <= mss) return false;
            // The checksum runs over 16-bit words from the header's start: update it by the
            // sums of the aligned words the value sits in (one, or two when it is at an odd offset).
            u32 const first = (i + 2) & ~1u, end = (i + 5) & ~1u;
            u16 const before = static_cast<u16>(~fold(sum(tcp + first, end - first)));
            put16(tcp + i + 2, mss);
            u16 const after = static_cast<u16>(~fold(sum(tcp + first, end - first)));
            put16(tcp + 16, checksum_update(get16(tcp + 16), before, after));
            return true;
        }
        i += tcp[i + 1];
    }
    return false;
}

u32 frag_needed(u32 gateway, MacAddr guest, Ipv4View const& v, u16 mtu, u8* out) {
    u32 const quoted = v.header + (v.payload_len() < 8 ? v.payload_len() : 8);
    u8* const icmp = out + kEthHeader + kIpHeader;
    icmp[0] = 3;  // destination unreachable
    icmp[1] = 4;  // fragmentation needed and DF set
    put16(icmp + 2, 0);
    put16(icmp + 4, 0);
    put16(icmp + 6, mtu);
    memcpy(icmp + 8, v.p, quoted);
    put16(icmp + 2, fold(sum(icmp, 8 + quoted)));
    return gateway_ip_frame(out, guest, gateway, v.src(), kProtoIcmp, 8 + quoted, get16(v.p + 4));
}

int send_fragments(Tunnel& t, Ipv4View const& v, u32 mtu) {
    u8 frag[kMaxFrame];
    u32 const step = (mtu - kIpHeader) & ~7u;
    u16 const orig = v.frag_field();
    u32 const base = (orig & 0x1FFFu) * 8u;
    int sent = 0;
    for (u32 off = 0; off < v.payload_len(); off += step) {
        u32 const n = v.payload_len() - off < step ? v.payload_len() - off : step;
        bool const last = off + n == v.payload_len();
        memcpy(frag, v.p, kIpHeader);
        memcpy(frag + kIpHeader, v.payload() + off, n);
        put16(frag + 2, static_cast<u16>(kIpHeader + n));
        u16 const more = (!last || (orig & 0x2000)) ? 0x2000 : 0;
        put16(frag + 6, static_cast<u16>(more | ((base + off) / 8)));
        put16(frag + 10, 0);
        put16(frag + 10, fold(sum(frag, kIpHeader)));
        if (!ok(t.send_inner(frag, kIpHeader + n))) return -1;
        ++sent;
    }
    return sent;
}

}  // namespace tv::vpn
