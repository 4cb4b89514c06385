// The pure parts of the tunnel's trap layer, host-tested (tests/unit/test_vpn_tunnel_pure.cpp):
// the initiator's configuration from [vpn], when a packet is worth keeping for an SA coming
// up, and the outer headers of an ESP-in-UDP frame.
#pragma once

#include "core/config_vpn.hpp"
#include "core/types.hpp"
#include "vpn/ike/initiator.hpp"

namespace tv::vpn {

// As strongSwan reads an identity: an IPv4 address, user@host (RFC 822), or a name (FQDN, a
// leading '@' dropped); cut at the payload's 64 bytes.
ike::Identity ike_identity(char const* text);

// The timers of the monitor's initiator.
struct IkeTimers {
    u32 retransmit_ms, retransmit_max_ms;
    u8 retransmit_tries;
    u32 restart_ms, keepalive_ms;
};

// The initiator's configuration from [vpn]: the first gateway, the identities, the DH groups
// (31, 19, 14 as the IKE proposals name them) and AES-GCM key sizes (256 before 128, those
// both the IKE and the ESP proposals allow), DPD and the rekey times (the lifetimes), NAT-T
// forced. The caller picks other gateways with Initiator::set_gateway.
ike::Config ike_config(VpnConfig const& v, IkeTimers const& t);

// Whether a gateway link is bringing its first child SA up, so that the guest's latest packet
// is worth keeping for it (vpn/guest/held_packet): no outbound SA yet, and IKE_SA_INIT or
// IKE_AUTH in flight, or the restart after a failure (restart_at_ms, 0: none) due within
// `within_ms` of now. The restart runs on the monitor clock's tick, which the guest's own
// timer interrupts bring, as they bring its periodic sends: the packet of that moment just
// precedes IKE_SA_INIT.
bool sa_coming_up(ike::State s, u32 spi_out, u64 restart_at_ms, u64 now_ms, u64 within_ms);

// Writes the Ethernet, IPv4 and UDP headers (kOuterHeaderBytes) in front of an ESP packet of
// esp_len bytes at frame + kOuterHeaderBytes: from src_mac/src_be (the monitor) to
// dst_mac/dst_be (the gateway's next hop, the gateway), UDP 4500 to dst_port with checksum 0
// (RFC 3948 section 2.1), IPv4 with `ip_id`, TTL 64, no options, its header checksum. Returns
// the frame length.
inline constexpr u32 kOuterHeaderBytes = 14 + 20 + 8;
// dst_port: the gateway's NAT-T port (4500, or the port [vpn] gave it).
u32 outer_frame(u8* frame, u8 const (&dst_mac)[6], u8 const (&src_mac)[6], u32 src_be, u32 dst_be, u16 ip_id,
                u32 esp_len, u16 dst_port = 4500);

}  // namespace tv::vpn
