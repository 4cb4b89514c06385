// Byte-level helpers for the guest side of the VPN: network-order loads and stores, the
// Internet checksum, and a checked view of an IPv4 header. Everything here reads buffers the
// guest or the network filled: every length is checked before a byte is read.
#pragma once

#include "core/types.hpp"

namespace tv::vpn::inet {

constexpr u16 kTypeIpv4 = 0x0800, kTypeArp = 0x0806;
constexpr u8 kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;
constexpr u32 kEthHeader = 14, kIpHeader = 20;

inline u16 get16(u8 const* p) { return static_cast<u16>(p[0] << 8 | p[1]); }
inline u32 get32(u8 const* p) { return u32{p[0]} << 24 | u32{p[1]} << 16 | u32{p[2]} << 8 | p[3]; }
inline void put16(u8* p, u16 v) {
    p[0] = static_cast<u8>(v >> 8);
    p[1] = static_cast<u8>(v);
}
inline void put32(u8* p, u32 v) {
    put16(p, static_cast<u16>(v >> 16));
    put16(p + 2, static_cast<u16>(v));
}

// The ones'-complement sum of `len` bytes (RFC 1071), folded, not inverted; `sum` carries a
// previous part (a pseudo-header).
u32 sum(u8 const* p, u32 len, u32 sum = 0);
u16 fold(u32 sum);  // the checksum field's value: the inverted, folded sum
// RFC 1624: the checksum field after one 16-bit word changed from `old_word` to `new_word`.
u16 checksum_update(u16 check, u16 old_word, u16 new_word);

// An IPv4 packet whose header the guest or the tunnel supplied, checked: version 4, a header
// of at least 20 bytes inside the buffer, a total length covering the header and inside the
// buffer, and a correct header checksum. Bytes past `total` (Ethernet padding) are not part
// of the packet.
struct Ipv4View {
    u8 const* p;
    u32 header;  // IHL * 4
    u32 total;   // the header's total length
    u8 proto() const { return p[9]; }
    u32 src() const { return get32(p + 12); }
    u32 dst() const { return get32(p + 16); }
    bool df() const { return (p[6] & 0x40) != 0; }
    bool fragment() const { return (get16(p + 6) & 0x3FFF) != 0; }  // MF or an offset
    u16 frag_field() const { return get16(p + 6); }
    u8 const* payload() const { return p + header; }
    u32 payload_len() const { return total - header; }
};
[[nodiscard]] bool ipv4_parse(u8 const* p, u32 len, Ipv4View* out);

// Writes a 20-byte IPv4 header (no options, TTL 64, DF clear) with its checksum.
void ipv4_header(u8* p, u32 src, u32 dst, u8 proto, u16 total, u16 id);

}  // namespace tv::vpn::inet
