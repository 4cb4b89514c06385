// The virtual gateway's ARP: a guest's request for the gateway's address is answered with
// the gateway's MAC; every other ARP frame (requests for other hosts, probes and
// announcements of the guest's own address, replies) is not the gateway's business.
#pragma once

#include "core/types.hpp"
#include "vpn/guest/guest_net.hpp"

namespace tv::vpn {

// The reply to the ARP frame `f` (Ethernet included) in `out`; its length, or 0 when `f` is
// not a well-formed request for `gateway`.
u32 arp_answer(u32 gateway, u8 const* f, u32 len, u8* out);

}  // namespace tv::vpn
