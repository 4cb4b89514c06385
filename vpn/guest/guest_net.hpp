// The guest's view of the network behind the VPN: its address (the tunnel's inner address),
// the virtual gateway, its DNS servers, and the packet sizes that fit the tunnel.
#pragma once

#include "core/types.hpp"
#include "drivers/nic/frame_port.hpp"

namespace tv::vpn {

using nic::MacAddr;

// The largest inner IPv4 packet one ESP-in-UDP packet carries in a 1500-byte outer MTU:
//   outer IPv4 header 20 + UDP (NAT-T, RFC 3948) 8 + ESP SPI and sequence 8 + GCM IV 8
//   + ICV 16 = 60 bytes of overhead, leaving 1440 for the inner packet, its padding and the
//   2-byte trailer (pad length, next header). ESP pads payload + trailer to a multiple of 4:
//   an inner packet of 1438 bytes needs no padding (1438 + 2 = 1440).
// So 1438; a TCP segment's MSS is 1438 - 20 (IPv4) - 20 (TCP) = 1398.
constexpr u32 kOuterMtu = 1500;
constexpr u32 kEspOverhead = 20 + 8 + 8 + 8 + 16;
constexpr u32 kInnerMtu = ((kOuterMtu - kEspOverhead) & ~3u) - 2;
constexpr u32 kTcpMss = kInnerMtu - 20 - 20;
static_assert(kInnerMtu == 1438 && kTcpMss == 1398);

// The virtual gateway's MAC: locally administered (02:), never a real NIC's.
constexpr MacAddr kGatewayMac{{0x02, 0x74, 0x76, 0x67, 0x77, 0x01}};

struct GuestNet {
    static constexpr u32 kMaxDns = 3;
    u32 address;  // host byte order, as every address in vpn/guest
    u8 prefix;    // 1..30: the guest's subnet holds the gateway too
    u32 gateway;  // the virtual gateway: derived by gateway_for()
    u32 dns[kMaxDns];
    u32 dns_count;
    u32 lease_seconds;
    u32 mask() const { return prefix ? ~0u << (32 - prefix) : 0; }
};

// The virtual gateway for `address`/`prefix`: the subnet's first host address, or its last
// when the guest's address is the first. 0 when the prefix leaves no room (/31, /32) or the
// address is the subnet's network or broadcast address.
u32 gateway_for(u32 address, u8 prefix);

}  // namespace tv::vpn
