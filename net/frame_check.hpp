// The first look at a frame from the wire before lwIP parses it: the shape of an Ethernet
// II frame carrying ARP (for IPv4 over Ethernet) or IPv4. lwIP checks again, but drops
// silently; this names the reason so a refusal is logged and counted. Pure.
#pragma once

#include "core/types.hpp"

namespace tv::net {

inline constexpr u16 kEtherArp = 0x0806;
inline constexpr u16 kEtherIpv4 = 0x0800;
inline constexpr size_t kEthHeader = 14;

enum class FrameVerdict : u8 {
    Ok,
    TooShort,       // no complete Ethernet header or ARP/IPv4 header
    TooLong,        // beyond the port's MTU
    WrongType,      // neither ARP nor IPv4
    BadArp,         // not Ethernet/IPv4 ARP (hardware/protocol type or lengths)
    BadIpVersion,   // version is not 4 or IHL below 5
    BadIpLength,    // total length shorter than the header or longer than the frame
    BadIpChecksum,
};

char const* frame_verdict_name(FrameVerdict v);

FrameVerdict frame_check(u8 const* frame, size_t len, u32 mtu);

// The RFC 1071 checksum of a byte range (big-endian 16-bit words, odd byte padded).
u16 inet_checksum(u8 const* data, size_t len);

}  // namespace tv::net
