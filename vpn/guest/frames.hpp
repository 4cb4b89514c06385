// The frames the virtual gateway makes for the guest: Ethernet + IPv4 headers around a
// payload, with every checksum filled in.
#pragma once

#include "core/types.hpp"
#include "vpn/guest/guest_net.hpp"

namespace tv::vpn {

constexpr u32 kMaxFrame = 1514;

// Writes Ethernet (from the gateway's MAC to `dst`) and a 20-byte IPv4 header in front of
// the `payload_len` bytes the caller has put at out + 34. Returns the frame's length.
u32 gateway_ip_frame(u8* out, MacAddr dst, u32 src_ip, u32 dst_ip, u8 proto, u32 payload_len, u16 id);
// The same for a UDP datagram whose payload is at out + 42, with its UDP checksum.
u32 gateway_udp_frame(u8* out, MacAddr dst, u32 src_ip, u32 dst_ip, u16 sport, u16 dport, u32 len, u16 id);
// Writes the Ethernet header of a frame from the gateway to `dst`.
void gateway_eth(u8* out, MacAddr dst, u16 type);

}  // namespace tv::vpn
