#include "drivers/nic/tx_tso.hpp"

#include <string.h>

namespace tv::nic {

using namespace e1000;

namespace {

constexpr u8 kTucmdTcp = 1u << 0, kTucmdIp = 1u << 1, kTucmdTse = 1u << 2;
constexpr u8 kTcpFin = 0x01, kTcpPsh = 0x08, kTcpCwr = 0x80;
constexpr u8 kProtoTcp = 6;

u32 be16(u8 const* p) { return u32{p[0]} << 8 | p[1]; }
u32 be32(u8 const* p) { return be16(p) << 16 | be16(p + 2); }
void put16(u8* p, u32 v) {
    p[0] = static_cast<u8>(v >> 8);
    p[1] = static_cast<u8>(v);
}
void put32(u8* p, u32 v) {
    put16(p, v >> 16);
    put16(p + 2, v);
}

// The one's-complement sum of len bytes as big-endian words, added to sum (not folded).
u32 sum_bytes(u8 const* p, u32 len, u32 sum) {
    for (u32 i = 0; i + 1 < len; i += 2) sum += be16(p + i);
    if (len & 1) sum += u32{p[len - 1]} << 8;
    return sum;
}
u16 fold(u32 sum) {
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<u16>(~sum);
}

TsoVerdict check(u8 const* p, u32 len, TsoContext const& c, u32 frame_max) {
    if (!c.tse) return TsoVerdict::NoTsoContext;
    if (c.hdrlen == 0 || c.hdrlen > len) return TsoVerdict::HeaderBeyondFrame;
    if (c.mss == 0) return TsoVerdict::ZeroMss;
    u32 const payload = len - c.hdrlen;
    if (payload > kTsoMaxPayload) return TsoVerdict::TooLong;
    if (!c.tcp) return TsoVerdict::NotTcp;
    if (!c.ipv4) return TsoVerdict::NotIpv4;
    if (c.ipcss + 20 > c.hdrlen) return TsoVerdict::BadHeaders;
    u8 const* ip = p + c.ipcss;
    if (ip[0] >> 4 != 4) return TsoVerdict::NotIpv4;
    u32 const ihl = (ip[0] & 0xFu) * 4;
    if (ihl < 20 || c.ipcss + ihl > c.tucss) return TsoVerdict::BadHeaders;
    if (ip[9] != kProtoTcp) return TsoVerdict::NotTcp;
    if (c.tucss + 20 > c.hdrlen) return TsoVerdict::BadHeaders;
    u32 const doff = (p[c.tucss + 12] >> 4) * 4u;
    if (doff < 20 || c.tucss + doff != c.hdrlen) return TsoVerdict::BadHeaders;
    if (c.paylen != payload) return TsoVerdict::LengthMismatch;
    if (payload == 0) return TsoVerdict::NoPayload;
    if (c.hdrlen + c.mss > frame_max) return TsoVerdict::SegmentTooBig;
    return TsoVerdict::Ok;
}

// Frame i of the packet (its payload at `offset`, `chunk` bytes) in f: lengths, id,
// sequence number, flags and both checksums made right for it.
void fix_headers(u8* f, TsoContext const& c, u32 i, u32 offset, u32 chunk, bool last) {
    u8* ip = f + c.ipcss;
    u32 const ihl = (ip[0] & 0xFu) * 4;
    put16(ip + 2, c.hdrlen - c.ipcss + chunk);
    put16(ip + 4, (be16(ip + 4) + i) & 0xFFFF);
    put16(ip + 10, 0);
    put16(ip + 10, fold(sum_bytes(ip, ihl, 0)));
    u8* tcp = f + c.tucss;
    put32(tcp + 4, be32(tcp + 4) + offset);
    if (!last) tcp[13] = static_cast<u8>(tcp[13] & ~(kTcpFin | kTcpPsh));
    if (i != 0) tcp[13] = static_cast<u8>(tcp[13] & ~kTcpCwr);
    u32 const tcp_len = c.hdrlen - c.tucss + chunk;
    put16(tcp + 16, 0);
    u32 sum = sum_bytes(ip + 12, 8, 0) + kProtoTcp + tcp_len;  // the pseudo header
    put16(tcp + 16, fold(sum_bytes(tcp, tcp_len, sum)));
}

}  // namespace

TsoContext tso_context(TxDesc const& d) {
    u8 const tucmd = tx_cmd(d);
    u32 const lo = static_cast<u32>(d.addr), hi = static_cast<u32>(d.addr >> 32);
    return TsoContext{(tucmd & kTucmdTse) != 0, (tucmd & kTucmdIp) != 0, (tucmd & kTucmdTcp) != 0, d.b13,
                      d.special, d.lower & 0xFFFFF, lo & 0xFF, hi & 0xFF};
}

TsoVerdict tso_context_check(TsoContext const& c, u32 frame_max) {
    if (!c.tse) return TsoVerdict::NoTsoContext;
    if (c.hdrlen == 0) return TsoVerdict::HeaderBeyondFrame;
    if (c.mss == 0) return TsoVerdict::ZeroMss;
    if (c.paylen > kTsoMaxPayload) return TsoVerdict::TooLong;
    if (!c.tcp) return TsoVerdict::NotTcp;
    if (!c.ipv4) return TsoVerdict::NotIpv4;
    if (c.ipcss + 20 > c.hdrlen || c.tucss + 20 > c.hdrlen) return TsoVerdict::BadHeaders;
    if (c.hdrlen + c.mss > frame_max) return TsoVerdict::SegmentTooBig;
    return TsoVerdict::Ok;
}

char const* tso_verdict_name(TsoVerdict v) {
    constexpr char const* kNames[] = {"ok",          "no TSO context", "header beyond the frame", "MSS 0",
                                      "over 64 KiB", "not TCP",        "not IPv4",                "bad headers",
                                      "PAYLEN mismatch", "no payload", "segment larger than a frame"};
    static_assert(sizeof kNames / sizeof kNames[0] == static_cast<u32>(TsoVerdict::kCount));
    u32 const i = static_cast<u32>(v);
    return i < static_cast<u32>(TsoVerdict::kCount) ? kNames[i] : "?";
}

TsoVerdict tso_segment(u8 const* p, u32 len, TsoContext const& c, u8* scratch, u32 frame_max, TsoSink sink, void* ctx,
                       u32* segments) {
    *segments = 0;
    if (TsoVerdict const v = check(p, len, c, frame_max); v != TsoVerdict::Ok) return v;
    u32 const payload = len - c.hdrlen;
    u32 i = 0;
    for (u32 offset = 0; offset < payload; offset += c.mss, ++i) {
        u32 const chunk = payload - offset < c.mss ? payload - offset : c.mss;
        memcpy(scratch, p, c.hdrlen);
        memcpy(scratch + c.hdrlen, p + c.hdrlen + offset, chunk);
        fix_headers(scratch, c, i, offset, chunk, offset + chunk == payload);
        sink(ctx, scratch, c.hdrlen + chunk);
    }
    *segments = i;
    return TsoVerdict::Ok;
}

}  // namespace tv::nic
