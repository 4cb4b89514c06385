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

bool MonitorTunnel::up() const { return ready_ && child_out_ != 0 && gw_mac_known_; }

// Sealed straight into frame_ after room for the outer headers (tunnel_pure's outer_frame).
Status MonitorTunnel::send_inner(u8 const* packet, u32 len) {
    SaPair* pair = db_.outbound();
    if (!up() || !pair) {  // the policy asked up() first: only a race (or a fragment train) gets here
        ++(ready_ && child_out_ && !gw_mac_known_ ? c_.no_next_hop : c_.seal_refused);
        return Status::Refused;
    }
    u64 esp_len = 0;
    SaLimit limit = SaLimit::Ok;
    Status const st = esp_seal(*pair, clock_us() / 1'000'000, packet, len, frame_ + kOuterHeaders,
                               sizeof frame_ - kOuterHeaders, &esp_len, &limit, esp_);
    if (limit != SaLimit::Ok) ini().request_child_rekey();  // sequence numbers near their end
    if (!ok(st)) {
        ++c_.seal_refused;
        return st;
    }
    u8 me[6];
    memcpy(me, sw_->mac().b, 6);
    u32 const n = outer_frame(frame_, gw_mac_, me, net::stack_address(), gw_be_, ++ip_id_, static_cast<u32>(esp_len),
                              ini().nat_port());
    if (!ok(sw_->inject_to_wire(sw::Frame{frame_, n}))) {
        ++c_.wire_full;
        return Status::NoMemory;
    }
    c_.inner_bytes_out += len;
    if (!first_packet_) {
        first_packet_ = true;
        c_.first_packet_ms = now_ms() - setup_start_ms_;
        log("vpn: first guest packet through the tunnel %llu ms after IKE_SA_INIT (SAs up after %llu ms)",
            static_cast<ull>(c_.first_packet_ms), static_cast<ull>(c_.setup_ms));
    }
    return Status::Ok;
}

void MonitorTunnel::recv500(void* ctx, u32 src_be, u16, u8* data, size_t len) {
    auto& t = *static_cast<MonitorTunnel*>(ctx);
    if (src_be != t.gw_be_) {
        ++t.c_.udp_not_gateway;
        return;
    }
    crypto::FpuGuard fpu;  // mbedTLS's GCM and AES-NI for the SK payload
    t.ini().on_datagram(ike::kIkePort, data, len);
}

void MonitorTunnel::recv4500(void* ctx, u32 src_be, u16, u8* data, size_t len) {
    auto& t = *static_cast<MonitorTunnel*>(ctx);
    if (src_be != t.gw_be_) {
        ++t.c_.udp_not_gateway;
        return;
    }
    switch (classify_udp4500(data, len)) {
        case Udp4500Kind::Esp: t.on_esp(data, len); return;
        case Udp4500Kind::Ike: {
            crypto::FpuGuard fpu;
            t.ini().on_datagram(ike::kNattPort, data, len);
            return;
        }
        case Udp4500Kind::Keepalive: ++t.c_.keepalives_in; return;
        case Udp4500Kind::Malformed:
            if (worth_logging(++t.c_.udp_malformed)) log("vpn: dropped a malformed %u-byte UDP 4500 datagram", static_cast<unsigned>(len));
            return;
    }
}

void MonitorTunnel::on_esp(u8* data, size_t len) {
    EspOpened const o = esp_open(db_, data, len, esp_, clock_us() / 1'000'000);
    if (o.verdict == EspVerdict::Ok) {
        ini().note_traffic();
        c_.inner_bytes_in += o.inner_len;
        policy_->from_tunnel(data + o.inner_off, static_cast<u32>(o.inner_len));
        return;
    }
    if (o.verdict == EspVerdict::Dummy) {
        ini().note_traffic();
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

Status MonitorTunnel::send(u16 port, u8 const* data, size_t len) {
    // The initiator's IKE_SA_INIT requests (exchange 34, not a response): set-up is timed
    // from the latest one sent, the one the gateway answers.
    if (port == ike::kIkePort && len > 19 && data[18] == 34 && !(data[19] & 0x20)) init_sent_ms_ = now_ms();
    net::UdpSocket& s = port == ike::kNattPort ? udp4500_ : udp500_;
    return s.send_to(gw_be_, port == ike::kNattPort ? ini().nat_port() : port, data, len);  // [vpn]'s port
}

u64 MonitorTunnel::now_ms() { return clock_us() / 1000; }

void MonitorTunnel::line(char const* text) { log("vpn: %s", text); }

void MonitorTunnel::child_up(ike::ChildSa const& sa) {
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
    ++c_.tunnels_up;
    char g[16];
    ip_text(gw_be_, g);
    if (!first) {
        log("vpn: child SA rekeyed: in %08x out %08x", sa.spi_in, sa.spi_out);
        return;
    }
    setup_start_ms_ = init_sent_ms_;
    c_.setup_ms = now_ms() - setup_start_ms_;
    first_packet_ = false;
    log("vpn: tunnel up with gateway %s: child SA in %08x out %08x, AES-GCM-%u, %llu ms after IKE_SA_INIT", g,
        sa.spi_in, sa.spi_out, kb * 8u, static_cast<ull>(c_.setup_ms));
    adopt_inner(sa);
}

void MonitorTunnel::child_down(u32 spi_in, u32 spi_out) {
    (void)db_.remove_by_inbound(spi_in);
    if (spi_in == child_in_) {
        // The current pair went: another live one (a rekey's) takes over, else the tunnel is down.
        SaPair* p = db_.outbound();
        child_in_ = p ? p->in.spi : 0;
        child_out_ = p ? p->out.spi : 0;
    }
    log("vpn: child SA in %08x out %08x removed%s", spi_in, spi_out,
        child_out_ ? "" : ": tunnel down, guest packets are dropped");
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
