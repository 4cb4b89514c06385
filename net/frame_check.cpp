#include "net/frame_check.hpp"

namespace tv::net {

namespace {

u16 be16(u8 const* p) { return static_cast<u16>(p[0] << 8 | p[1]); }

FrameVerdict check_arp(u8 const* a, size_t len) {
    constexpr size_t kArpIpv4 = 28;
    if (len < kArpIpv4) return FrameVerdict::TooShort;
    if (be16(a) != 1 || be16(a + 2) != kEtherIpv4 || a[4] != 6 || a[5] != 4) return FrameVerdict::BadArp;
    return FrameVerdict::Ok;
}

FrameVerdict check_ipv4(u8 const* ip, size_t len) {
    if (len < 20) return FrameVerdict::TooShort;
    size_t const ihl = static_cast<size_t>(ip[0] & 0xF) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20) return FrameVerdict::BadIpVersion;
    size_t const total = be16(ip + 2);
    // Ethernet pads short packets to 60 bytes: the frame may be longer than the packet.
    if (ihl > len || total < ihl || total > len) return FrameVerdict::BadIpLength;
    if (inet_checksum(ip, ihl) != 0) return FrameVerdict::BadIpChecksum;
    return FrameVerdict::Ok;
}

}  // namespace

char const* frame_verdict_name(FrameVerdict v) {
    switch (v) {
        case FrameVerdict::Ok: return "ok";
        case FrameVerdict::TooShort: return "too short";
        case FrameVerdict::TooLong: return "longer than the MTU";
        case FrameVerdict::WrongType: return "not ARP or IPv4";
        case FrameVerdict::BadArp: return "ARP not for IPv4 over Ethernet";
        case FrameVerdict::BadIpVersion: return "bad IP version or header length";
        case FrameVerdict::BadIpLength: return "bad IP total length";
        case FrameVerdict::BadIpChecksum: return "bad IP header checksum";
    }
    return "?";
}

FrameVerdict frame_check(u8 const* frame, size_t len, u32 mtu) {
    if (len < kEthHeader) return FrameVerdict::TooShort;
    if (len > kEthHeader + mtu) return FrameVerdict::TooLong;
    u16 const type = be16(frame + 12);
    if (type == kEtherArp) return check_arp(frame + kEthHeader, len - kEthHeader);
    if (type == kEtherIpv4) return check_ipv4(frame + kEthHeader, len - kEthHeader);
    return FrameVerdict::WrongType;
}

u16 inet_checksum(u8 const* data, size_t len) {
    u32 sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) sum += be16(data + i);
    if (len & 1) sum += static_cast<u32>(data[len - 1]) << 8;
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<u16>(~sum & 0xFFFF);
}

}  // namespace tv::net
