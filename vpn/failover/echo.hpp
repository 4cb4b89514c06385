// The liveness pings of gateway failover (docs/vpn.md, "Gateway failover"): ICMP echo requests
// the monitor builds and sends inside the tunnel, from the guest's inner address (the only one
// the child SA's traffic selectors carry) to a gateway's liveness target, and the replies it
// takes out of the tunnel before the guest could see them. Pure, host-tested
// (tests/unit/test_vpn_failover_echo.cpp).
//
// A reply is ours only with our identifier (one per gateway) and the 8-byte cookie drawn at
// boot in its payload: the guest can ping the same target with the same identifier, but it
// never sees a cookie, so it can neither take the monitor's replies nor make its own count as
// liveness. A reply that is not ours goes to the guest as before.
#pragma once

#include "core/types.hpp"

namespace tv::vpn::failover {

struct EchoTag {
    u16 id;      // ICMP identifier of gateway 0; gateway g uses id + g
    u64 cookie;  // the payload of every request, echoed back by the target
};

inline constexpr u32 kEchoBytes = 20 + 8 + 8;  // IPv4, ICMP echo, the cookie

// One echo request for gateway `g` with sequence number `seq` into out (kEchoBytes), IPv4 from
// src_be to dst_be (network order), with `ip_id`. Returns its length, 0 if cap is too small.
u32 build_echo(u8* out, u32 cap, u32 src_be, u32 dst_be, u16 ip_id, EchoTag const& tag, u32 g, u16 seq);

struct EchoMatch {
    bool ours;  // an echo reply with our identifier range and cookie: never the guest's
    u32 gateway;
    u16 seq;
    u32 from_be;  // its source address (the target that answered)
};

// Whether an inner IPv4 packet from the tunnel is one of our replies (for gateways below
// `gateways`). Anything malformed is not ours.
EchoMatch match_echo_reply(u8 const* pkt, u32 len, EchoTag const& tag, u32 gateways);

}  // namespace tv::vpn::failover
