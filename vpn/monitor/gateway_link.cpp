// A gateway's IKE and child SAs (gateway_link.hpp): what the initiator sends, and the child SAs
// it hands over, installed in this link's SA database before the tunnel hears of them.
#include "vpn/monitor/gateway_link.hpp"

#include <string.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "crypto/secure_zero.hpp"
#include "lib/new.hpp"
#include "net/netstack.hpp"
#include "vpn/esp_udp.hpp"
#include "vpn/ike/constants.hpp"
#include "vpn/monitor/tunnel.hpp"

namespace tv::vpn {

void GatewayLink::init(MonitorTunnel* owner, crypto::Random rng) {
    owner_ = owner;
    new (ini_mem_) ike::Initiator{*this, *this, *this, rng};
}

void GatewayLink::bind(u32 index, u32 gw_be, u16 port) {
    index_ = kNone;  // the old SA's child_down events (start() tears it down) are not the new one's
    gw_be_ = gw_be;
    mac_known_ = false;
    refresh_next_hop();
    u8 ip[4];
    memcpy(ip, &gw_be, 4);
    ini().set_gateway(ip);
    ini().set_gateway_port(port);
    ini().start();
    index_ = index;
}

void GatewayLink::unbind() {
    index_ = kNone;
    ini().shutdown();
}

// The gateway's next hop MAC, for the ESP frames built outside lwIP. The last known one is
// kept while lwIP re-resolves an expired entry, so a long transfer does not stall on it.
void GatewayLink::refresh_next_hop() {
    u8 mac[6];
    if (gw_be_ && net::stack_next_hop_mac(gw_be_, mac)) {
        memcpy(mac_, mac, 6);
        mac_known_ = true;
    }
}

Status GatewayLink::send(u16 port, u8 const* data, size_t len) {
    // The initiator's IKE_SA_INIT requests (exchange 34, not a response): set-up is timed
    // from the latest one sent, the one the gateway answers.
    if (port == ike::kIkePort && len > 19 && data[18] == 34 && !(data[19] & 0x20)) init_sent_ms_ = now_ms();
    return owner_->ike_send(*this, port, data, len);
}

u64 GatewayLink::now_ms() { return clock_us() / 1000; }

void GatewayLink::line(char const* text) { log("vpn: %s", text); }

void GatewayLink::child_up(ike::ChildSa const& sa) {
    u8 keymat[2 * (32 + 4)];
    u8 const kb = sa.keys.i_to_r.key_len;
    memcpy(keymat, sa.keys.i_to_r.key, kb);
    memcpy(keymat + kb, sa.keys.i_to_r.salt, 4);
    memcpy(keymat + kb + 4, sa.keys.r_to_i.key, kb);
    memcpy(keymat + 2 * kb + 4, sa.keys.r_to_i.salt, 4);
    ChildSaSpec spec{};
    spec.spi_in = sa.spi_in;
    spec.spi_out = sa.spi_out;
    spec.keymat = keymat;
    spec.keymat_len = 2u * (kb + 4u);
    spec.key_bytes = kb;
    spec.initiator = true;
    spec.encap = UdpEncap{__builtin_bswap32(net::stack_address()), __builtin_bswap32(gw_be_), kNatTPort, ini().nat_port()};
    spec.now_s = clock_us() / 1'000'000;
    spec.life.hard.seconds = sa.hard_lifetime_s;  // past it, ESP refuses the pair both ways
    Status const st = db_.install(spec);
    crypto::secure_zero(keymat, sizeof keymat);
    if (!ok(st)) {
        log("vpn: child SA %08x/%08x refused by the SA database (status %u)", sa.spi_in, sa.spi_out,
            static_cast<unsigned>(st));
        return;
    }
    bool const first = child_out_ == 0;
    child_in_ = sa.spi_in;
    child_out_ = sa.spi_out;
    if (index_ != kNone) owner_->link_child_up(*this, sa, first);
}

void GatewayLink::child_down(u32 spi_in, u32 spi_out) {
    (void)db_.remove_by_inbound(spi_in);
    if (spi_in == child_in_) {
        // The current pair went: another live one (a rekey's) takes over, else the link is down.
        SaPair* p = db_.outbound();
        child_in_ = p ? p->in.spi : 0;
        child_out_ = p ? p->out.spi : 0;
    }
    if (index_ != kNone) owner_->link_child_down(*this, spi_in, spi_out);
}

}  // namespace tv::vpn
