// The guest side's counters: each drop reason its own, and what it did instead.
#pragma once

#include "core/types.hpp"

namespace tv::vpn {

enum class GuestDrop : u8 {
    TunnelDown,      // guest IPv4 while the tunnel is down: fail-closed
    TunnelRefused,   // the tunnel did not take a packet
    Runt,            // a guest frame shorter than an Ethernet header
    BadIpv4,         // a guest IPv4 header that does not parse (version, lengths, checksum)
    NotGuestSource,  // guest IPv4 from an address other than its own
    LocalDst,        // guest IPv4 to the virtual gateway, a broadcast or a multicast address
    OtherType,       // an ethertype other than IPv4 and ARP (IPv6, LLDP, VLAN...)
    ArpOther,        // guest ARP not asking for the virtual gateway
    DhcpIgnored,     // guest DHCP that is malformed, or for another server
    TooBigOptions,   // an oversized packet with IP options and no DF: not fragmented
    WireForGuest,    // a frame from the wire that is not the monitor's: the guest gets none
    InnerBad,        // a packet from the tunnel that does not parse, or too long for a frame
    InnerNotGuest,   // a packet from the tunnel for another address than the guest's
    NoGuestMac,      // a packet from the tunnel before the guest was heard from
    GuestFull,       // the guest's receive ring could not take a frame
    Count,
};
char const* guest_drop_name(GuestDrop d);

struct GuestCounters {
    u64 drops[static_cast<u32>(GuestDrop::Count)];
    u64 to_tunnel, from_tunnel;         // inner packets each way
    u64 held;  // of the tunnel-down drops, those the tunnel kept for the SA under way (held_packet)
    u64 dhcp_offers, dhcp_acks, dhcp_naks, dhcp_releases;
    u64 arp_replies;
    u64 mss_clamped;                    // TCP SYNs whose MSS option was lowered
    u64 frag_needed;                    // ICMP "fragmentation needed" sent to the guest
    u64 fragmented, fragments;          // packets fragmented before encryption, fragments sent
    u64 total_drops() const {
        u64 t = 0;
        for (u64 d : drops) t += d;
        return t;
    }
};

}  // namespace tv::vpn
