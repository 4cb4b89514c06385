// One gateway's IKE SA and child SAs in the monitor: the initiator that talks to it, the SA
// database its ESP seals and opens with, its next hop's MAC. The tunnel (tunnel.hpp) keeps two:
// the active gateway's, which carries the guest's traffic, and the hot standby's, kept
// established, alive and rekeyed so that a failover needs no handshake (docs/vpn.md, "Gateway
// failover"). Monitor-only, under the NIC's lock like the rest of the tunnel.
#pragma once

#include "core/types.hpp"
#include "crypto/random.hpp"
#include "vpn/ike/initiator.hpp"
#include "vpn/sa.hpp"

namespace tv::vpn {

class MonitorTunnel;

class GatewayLink final : public ike::Transport, public ike::Clock, public ike::Events {
  public:
    static constexpr u32 kNone = ~0u;

    // Once, at the tunnel's init: builds the initiator (configured by the caller).
    void init(MonitorTunnel* owner, crypto::Random rng);
    ike::Initiator& ini() { return *reinterpret_cast<ike::Initiator*>(ini_mem_); }
    ike::Initiator const& ini() const { return *reinterpret_cast<ike::Initiator const*>(ini_mem_); }

    // Gateway number `index` (its address gw_be, its IKE port from [vpn]): IKE from scratch with
    // it, whatever came before.
    void bind(u32 index, u32 gw_be, u16 port);
    // No longer wanted: its IKE SA is deleted (the Delete is a courtesy; a later bind() drops it).
    void unbind();
    u32 index() const { return index_; }
    u32 gateway_be() const { return gw_be_; }
    // Whether a datagram from src_be is this link's (bound, or still deleting its SA there).
    bool from(u32 src_be) const { return gw_be_ != 0 && src_be == gw_be_; }

    void refresh_next_hop();
    bool up() const { return child_out_ != 0 && mac_known_; }
    bool mac_known() const { return mac_known_; }
    u8 const (&mac() const)[6] { return mac_; }
    u32 spi_in() const { return child_in_; }
    u32 spi_out() const { return child_out_; }
    SaDb& db() { return db_; }
    u64 init_sent_ms() const { return init_sent_ms_; }

  private:
    // ike::Transport, ike::Clock, ike::Events
    Status send(u16 port, u8 const* data, size_t len) override;
    u64 now_ms() override;
    void line(char const* text) override;
    void child_up(ike::ChildSa const& sa) override;
    void child_down(u32 spi_in, u32 spi_out) override;

    MonitorTunnel* owner_{nullptr};
    u32 index_{kNone};
    u32 gw_be_{0};
    u8 mac_[6]{};
    bool mac_known_{false};
    u32 child_in_{0}, child_out_{0};
    u64 init_sent_ms_{0};  // the latest IKE_SA_INIT request sent (set-up time)
    SaDb db_;
    alignas(ike::Initiator) u8 ini_mem_[sizeof(ike::Initiator)]{};
};

}  // namespace tv::vpn
