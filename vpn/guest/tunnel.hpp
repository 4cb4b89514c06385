// What the guest side needs of the tunnel (IKE + ESP): whether it is up, and a way to send
// one inner IPv4 packet through it. Decrypted inner packets come back through
// VpnGuestPolicy::from_tunnel. Host tests use a fake; the monitor, until IKE and ESP run in
// it, the fail-closed stub below.
#pragma once

#include "core/types.hpp"

namespace tv::vpn {

class Tunnel {
  public:
    [[nodiscard]] virtual bool up() const = 0;
    // One complete inner IPv4 packet (copied during the call). Not Ok: it was not sent
    // (the caller counts it; it never goes anywhere else).
    [[nodiscard]] virtual Status send_inner(u8 const* packet, u32 len) = 0;
    // The tunnel is down: may keep this packet (checked, clamped, at most kInnerMtu bytes) to
    // seal once the SA that IKE is bringing up is there (vpn/guest/held_packet.hpp). True: kept
    // (the caller counts it as held, not dropped); false: the caller drops it.
    [[nodiscard]] virtual bool hold(u8 const*, u32) { return false; }

  protected:
    ~Tunnel() = default;
};

// The tunnel of a monitor that has no IKE/ESP yet: never up, so every guest packet is
// dropped and counted. Fail-closed by construction: it cannot send.
class FailClosedTunnel final : public Tunnel {
  public:
    bool up() const override { return false; }
    Status send_inner(u8 const*, u32) override { return Status::Unsupported; }
};

}  // namespace tv::vpn
