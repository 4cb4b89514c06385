// The tunnel's data path (ESP each way) and what IKE tells it (child SAs up and down).
#include <stdio.h>
#include <string.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "crypto/fpu_guard.hpp"
#include "crypto/secure_zero.hpp"
#include "net/netstack.hpp"
#include "switch/frame_switch.hpp"
#include "vpn/esp_udp.hpp"
#include "vpn/guest/vpn_policy.hpp"
#include "vpn/monitor/tunnel.hpp"
#include "vpn/monitor/tunnel_pure.hpp"

namespace tv::vpn {

namespace {

constexpr u32 kOuterHeaders = kOuterHeaderBytes;
using ull = unsigned long long;

// A network flood costs a counter, not the log: the first few of each kind, then powers of two.
bool worth_logging(u64 n) { return n <= 4 || (n & (n - 1)) == 0; }

void ip_text(u32 be, char (&out)[16]) {
    u8 const* b = reinterpret_cast<u8 const*>(&be);
    snprintf(out, sizeof out, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

}  // namespace

bool MonitorTunnel::up() const { return ready_ && active().up(); }

// Sealed straight into frame_ after room for the outer headers (tunnel_pure's outer_frame).
Status MonitorTunnel::seal_and_send(GatewayLink& l, u8 const* packet, u32 len, u64* wire_len) {
    SaPair* pair = l.db().outbound();
    if (!l.up() || !pair) {  // the policy asked up() first: only a race (or a fragment train) gets here
        ++(l.spi_out() && !l.mac_known() ? c_.no_next_hop : c_.seal_refused);
        return Status::Refused;
    }
    u64 esp_len = 0;
    SaLimit limit = SaLimit::Ok;
    Status const st = esp_seal(*pair, clock_us() / 1'000'000, packet, len, frame_ + kOuterHeaders,
                               sizeof frame_ - kOuterHeaders, &esp_len, &limit, esp_);
    if (limit != SaLimit::Ok) l.ini().request_child_rekey();  // sequence numbers near their end
    if (!ok(st)) {
        ++c_.seal_refused;
        return st;
    }
    u8 me[6];
    memcpy(me, sw_->mac().b, 6);
    u32 const n = outer_frame(frame_, l.mac(), me, net::stack_address(), l.gateway_be(), ++ip_id_,
                              static_cast<u32>(esp_len), l.ini().nat_port());
    if (!ok(sw_->inject_to_wire(sw::Frame{frame_, n}))) {
        ++c_.wire_full;
        return Status::NoMemory;
    }
    *wire_len = n;
    return Status::Ok;
}

Status MonitorTunnel::send_inner(u8 const* packet, u32 len) {
    if (!ready_) return Status::Refused;
    u64 n = 0;
    Status const st = seal_and_send(active(), packet, len, &n);
    if (!ok(st)) return st;
    c_.inner_bytes_out += len;
    if (!first_packet_) {
        first_packet_ = true;
        c_.first_packet_ms = clock_us() / 1000 - setup_start_ms_;
        log("vpn: first guest packet through the tunnel %llu ms after IKE_SA_INIT (SAs up after %llu ms%s)",
            static_cast<ull>(c_.first_packet_ms), static_cast<ull>(c_.setup_ms),
            releasing_ ? "; kept while the tunnel came up" : "");
    }
    return Status::Ok;
}

bool MonitorTunnel::coming_up() const {
    ike::Initiator const& ini = active().ini();
    return sa_coming_up(ini.state(), active().spi_out(), ini.restart_at_ms(), clock_us() / 1000,
                        HeldPacket::kMaxAgeMs);
}

bool MonitorTunnel::hold(u8 const* packet, u32 len) {
    if (!ready_ || !coming_up()) return false;
    return held_.keep(packet, len, clock_us() / 1000);
}

// The active gateway's first child SA is up: the packet kept meanwhile goes first, sealed
// with it, unless its source is not the guest's address under that SA (`inner`, host order:
// the configuration payload may have moved it).
void MonitorTunnel::release_held(u32 inner) {
    u64 const now = clock_us() / 1000;
    if (!held_.from(inner)) return held_.expire(now, true);
    u32 n = 0;
    u8 const* p = held_.take(now, &n);
    if (!p) return;
    releasing_ = true;
    (void)send_inner(p, n);  // a refusal is counted there, like any guest packet's
    releasing_ = false;
}

void MonitorTunnel::recv500(void* ctx, u32 src_be, u16, u8* data, size_t len) {
    auto& t = *static_cast<MonitorTunnel*>(ctx);
    GatewayLink* l = t.link_from(src_be);
    if (!l) {
        ++t.c_.udp_not_gateway;
        return;
    }
    if (l != t.active_) t.c_.standby_ike_bytes += len + 28;
    crypto::FpuGuard fpu;  // mbedTLS's GCM and AES-NI for the SK payload
    l->ini().on_datagram(ike::kIkePort, data, len);
}

void MonitorTunnel::recv4500(void* ctx, u32 src_be, u16, u8* data, size_t len) {
    auto& t = *static_cast<MonitorTunnel*>(ctx);
    GatewayLink* l = t.link_from(src_be);
    if (!l) {
        ++t.c_.udp_not_gateway;
        return;
    }
    switch (classify_udp4500(data, len)) {
        case Udp4500Kind::Esp: t.on_esp(*l, data, len); return;
        case Udp4500Kind::Ike: {
            if (l != t.active_) t.c_.standby_ike_bytes += len + 28;
            crypto::FpuGuard fpu;
            l->ini().on_datagram(ike::kNattPort, data, len);
            return;
        }
        case Udp4500Kind::Keepalive: ++t.c_.keepalives_in; return;
        case Udp4500Kind::Malformed:
            if (worth_logging(++t.c_.udp_malformed)) log("vpn: dropped a malformed %u-byte UDP 4500 datagram", static_cast<unsigned>(len));
            return;
    }
}

// From either link: both are authenticated tunnels to a configured gateway, and a packet on
// its way through the old one while the tunnel switches is the guest's too. The liveness
// replies are taken out here, before the guest could see them (vpn/failover/echo.hpp).
void MonitorTunnel::on_esp(GatewayLink& l, u8* data, size_t len) {
    EspOpened const o = esp_open(l.db(), data, len, esp_, clock_us() / 1'000'000);
    if (o.verdict == EspVerdict::Ok) {
        l.ini().note_traffic();
        u8 const* inner = data + o.inner_off;
        failover::EchoMatch const m = failover::match_echo_reply(inner, static_cast<u32>(o.inner_len), tag_, gateway_count_);
        if (m.ours) {
            ++c_.pings_in;
            c_.ping_bytes += len + 28;
            if (m.from_be == targets_be_[m.gateway]) machine_.reply(m.gateway, m.seq, clock_us() / 1000);
            return;
        }
        c_.inner_bytes_in += o.inner_len;
        policy_->from_tunnel(inner, static_cast<u32>(o.inner_len));
        return;
    }
    if (o.verdict == EspVerdict::Dummy) {
        l.ini().note_traffic();
        return;
    }
    count_drop(o.verdict);
}

// esp_open counted it in esp_; the log says so the first few times of each kind.
void MonitorTunnel::count_drop(EspVerdict v) {
    u64 n = 0;
    switch (v) {
        case EspVerdict::UnknownSpi: n = esp_.unknown_spi; break;
        case EspVerdict::Truncated: n = esp_.truncated; break;
        case EspVerdict::Replay: n = esp_.replay; break;
        case EspVerdict::BadIcv: n = esp_.bad_icv; break;
        case EspVerdict::BadPadding: n = esp_.bad_padding; break;
        case EspVerdict::BadNextHeader: n = esp_.bad_next_header; break;
        case EspVerdict::BadInner: n = esp_.bad_inner; break;
        case EspVerdict::Expired: n = esp_.expired; break;
        default: return;
    }
    if (worth_logging(n)) log("vpn: dropped an ESP packet: %s (%llu so far)", verdict_name(v), static_cast<ull>(n));
}

Status MonitorTunnel::ike_send(GatewayLink& l, u16 port, u8 const* data, size_t len) {
    if (&l != active_) c_.standby_ike_bytes += len + 28;
    net::UdpSocket& s = port == ike::kNattPort ? udp4500_ : udp500_;
    return s.send_to(l.gateway_be(), port == ike::kNattPort ? l.ini().nat_port() : port, data, len);  // [vpn]'s port
}

void MonitorTunnel::link_child_up(GatewayLink& l, ike::ChildSa const& sa, bool first) {
    ++c_.tunnels_up;
    char g[16];
    ip_text(l.gateway_be(), g);
    if (!first) {
        log("vpn: child SA rekeyed with %s: in %08x out %08x", g, sa.spi_in, sa.spi_out);
        return;
    }
    u64 const now = clock_us() / 1000;
    machine_.sa_up(l.index(), now);
    if (&l != active_) {
        log("vpn: standby SA up with gateway %s: child SA in %08x out %08x, %llu ms after IKE_SA_INIT", g, sa.spi_in,
            sa.spi_out, static_cast<ull>(now - l.init_sent_ms()));
        u32 const a = u32{sa.inner_ip[0]} << 24 | u32{sa.inner_ip[1]} << 16 | u32{sa.inner_ip[2]} << 8 | sa.inner_ip[3];
        if (a && a != policy_->net().address)
            log("vpn: gateway %s gives another inner address than the guest's: after a failover to it the "
                "guest's connections break (docs/vpn.md, \"Gateway failover\")", g);
        return;
    }
    setup_start_ms_ = l.init_sent_ms();
    c_.setup_ms = now - setup_start_ms_;
    first_packet_ = false;
    // The kept packet before the log lines (each a few hundred us on COM2 under an emulator).
    u32 const a = u32{sa.inner_ip[0]} << 24 | u32{sa.inner_ip[1]} << 16 | u32{sa.inner_ip[2]} << 8 | sa.inner_ip[3];
    release_held(a ? a : policy_->net().address);
    log("vpn: tunnel up with gateway %s: child SA in %08x out %08x, AES-GCM-%u, %llu ms after IKE_SA_INIT", g,
        sa.spi_in, sa.spi_out, sa.keys.i_to_r.key_len * 8u, static_cast<ull>(c_.setup_ms));
    adopt_inner(sa);
    if (switching_) switched(now);
}

void MonitorTunnel::link_child_down(GatewayLink& l, u32 spi_in, u32 spi_out) {
    bool const gone = l.spi_out() == 0;
    if (gone) machine_.sa_down(l.index(), clock_us() / 1000);
    log("vpn: child SA in %08x out %08x removed%s", spi_in, spi_out,
        !gone ? "" : &l == active_ ? ": tunnel down, guest packets are dropped" : " (standby)");
}

// The gateway's configuration payload names the guest's address (and DNS servers): the guest
// side answers DHCP with it from now on (a lease of the configured address is NAKed at its
// renewal, so the guest asks again).
void MonitorTunnel::adopt_inner(ike::ChildSa const& sa) {
    u32 const a = u32{sa.inner_ip[0]} << 24 | u32{sa.inner_ip[1]} << 16 | u32{sa.inner_ip[2]} << 8 | sa.inner_ip[3];
    GuestNet net = policy_->net();
    if (a == 0 || a == net.address) {
        log("vpn: guest address %u.%u.%u.%u (%s)", net.address >> 24, net.address >> 16 & 255, net.address >> 8 & 255,
            net.address & 255, a ? "the gateway's configuration payload agrees" : "configured");
        return;
    }
    net.address = a;
    if (sa.dns_count) {
        net.dns_count = 0;
        for (u32 i = 0; i < sa.dns_count && i < 2; ++i)
            net.dns[net.dns_count++] = u32{sa.dns[i][0]} << 24 | u32{sa.dns[i][1]} << 16 | u32{sa.dns[i][2]} << 8 | sa.dns[i][3];
    }
    GuestNet const old = policy_->net();
    if (!policy_->init(net, this, sw_, sw_->mac())) {
        log("vpn: the gateway's inner address leaves no virtual gateway in /%u: kept the configured one", net.prefix);
        (void)policy_->init(old, this, sw_, sw_->mac());
        return;
    }
    log("vpn: guest address %u.%u.%u.%u from the gateway's configuration payload", a >> 24, a >> 16 & 255, a >> 8 & 255,
        a & 255);
}

}  // namespace tv::vpn
