// Fitting the guest's packets into the tunnel (guest_net.hpp: kInnerMtu, kTcpMss):
// - TCP SYNs, both ways, get their MSS option lowered to kTcpMss (with the checksum
//   updated), so that TCP never makes a segment the tunnel cannot carry;
// - a larger packet with DF gets ICMP "fragmentation needed" (type 3 code 4) from the
//   virtual gateway, with kInnerMtu as the next-hop MTU (RFC 1191);
// - a larger packet without DF is fragmented before encryption (RFC 791), as a router on
//   the path would; the far end reassembles. One with IP options is dropped instead.
#pragma once

#include "core/types.hpp"
#include "vpn/guest/guest_net.hpp"
#include "vpn/guest/inet.hpp"
#include "vpn/guest/tunnel.hpp"

namespace tv::vpn {

// Lowers the MSS of a TCP SYN in the writable IPv4 packet `p` (checked view `v`) to `mss`.
// True if it changed anything.
bool clamp_mss(u8* p, inet::Ipv4View const& v, u16 mss);

// The ICMP "fragmentation needed" frame for the guest's packet `v`, from the gateway
// `gateway` to the guest at `guest` (MAC). Returns the frame's length in `out`.
u32 frag_needed(u32 gateway, MacAddr guest, inet::Ipv4View const& v, u16 mtu, u8* out);

// Sends packet `v` (no IP options, DF clear) through `t` in fragments of at most `mtu`
// bytes. Returns the number sent, or -1 if the tunnel refused one (the rest is not sent).
int send_fragments(Tunnel& t, inet::Ipv4View const& v, u32 mtu);

}  // namespace tv::vpn
