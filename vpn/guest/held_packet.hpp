// The guest's latest packet, kept while IKE brings the tunnel up, so that the first packet
// after the SA is up does not wait for the guest to send again (a ping's next interval, a TCP
// SYN's 1 s retransmission). One packet, at most kMaxAgeMs old, never sent in clear: it is
// sealed with the new SA or dropped and counted (docs/vpn.md, "Set-up time"). Linux's XFRM
// keeps packets the same way while it negotiates an SA (its policy queue, 100 ms).
// Pure, host-tested (tests/unit/test_vpn_guest_policy.cpp, VpnHeldPacket.*).
#pragma once

#include "core/types.hpp"
#include "vpn/guest/guest_net.hpp"

namespace tv::vpn {

class HeldPacket {
  public:
    static constexpr u64 kMaxAgeMs = 100;

    struct Counts {
        u64 kept;     // packets kept while the tunnel came up
        u64 sent;     // of them, handed to the new SA
        u64 dropped;  // replaced by a newer one, too old, or the set-up failed
    };

    // Keeps a copy of packet (an inner IPv4 packet of at most kInnerMtu bytes), replacing
    // (and dropping) one held before. False, nothing kept, for an empty or larger packet.
    [[nodiscard]] bool keep(u8 const* packet, u32 len, u64 now_ms);
    // The held packet when it is at most kMaxAgeMs old (counted as sent; valid until the next
    // keep), else nullptr (an old one counted as dropped). Either way no longer held.
    u8 const* take(u64 now_ms, u32* len);
    // Drops the held packet (counted) when it is older than kMaxAgeMs, or whatever its age
    // with `now` (the set-up failed, the tunnel moved).
    void expire(u64 now_ms, bool now);
    bool held() const { return len_ != 0; }
    // Whether a packet is held and its IPv4 source is src (host byte order).
    bool from(u32 src) const;
    Counts const& counts() const { return c_; }

  private:
    u8 buf_[kInnerMtu]{};
    u32 len_{0};
    u64 at_ms_{0};
    Counts c_{};
};

}  // namespace tv::vpn
