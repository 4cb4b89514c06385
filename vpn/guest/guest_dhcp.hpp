// The virtual gateway's DHCP server (RFC 2131) for the one guest behind the VPN: it offers
// the tunnel's inner address, and nothing else. DISCOVER -> OFFER, REQUEST (selecting,
// renewing, rebinding) -> ACK for the guest's address or NAK for any other, INFORM -> ACK
// without a lease, RELEASE and DECLINE -> no reply. A REQUEST naming another server is not
// for us: ignored. Options: subnet mask, router (the gateway), DNS servers, lease time,
// server identifier (the gateway), interface MTU (the tunnel's inner MTU).
#pragma once

#include "core/types.hpp"
#include "vpn/guest/guest_counters.hpp"
#include "vpn/guest/guest_net.hpp"

namespace tv::vpn {

enum class DhcpType : u8 { None = 0, Discover = 1, Offer = 2, Request = 3, Decline = 4, Ack = 5, Nak = 6,
                           Release = 7, Inform = 8 };

// The parts of a client's message the server acts on.
struct DhcpRequest {
    DhcpType type;
    u32 xid, ciaddr, requested, server_id;  // 0: absent
    u16 flags;
    u8 chaddr[16];
};
// Parses a BOOTP message (the UDP payload): false if it is not a well-formed client request.
[[nodiscard]] bool dhcp_parse(u8 const* m, u32 len, DhcpRequest* out);

// The reply frame to a guest's DHCP message (the UDP payload `m`, sent from `guest`), in
// `out` (kMaxFrame bytes). Returns its length; 0 when nothing is to be sent (counted).
u32 dhcp_answer(GuestNet const& net, MacAddr guest, u8 const* m, u32 len, u8* out, GuestCounters& c);

}  // namespace tv::vpn
