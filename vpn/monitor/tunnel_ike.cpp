// The tunnel's control side: the initiator built from [vpn] with the PSK module, the sockets,
// the 10 ms tick (IKE's timers), failover between the configured gateways, the gateway's MAC.
#include <string.h>

#include "core/boot_info.hpp"
#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/log.hpp"
#include "crypto/fpu_guard.hpp"
#include "crypto/secure_zero.hpp"
#include "drivers/nic/e1000_mediator.hpp"
#include "lib/new.hpp"
#include "net/netstack.hpp"
#include "vpn/ike/constants.hpp"
#include "vpn/monitor/tunnel.hpp"
#include "vpn/monitor/tunnel_pure.hpp"

namespace tv::vpn {

namespace {

// IKE_SA_INIT is retried for ever (the initiator's rule while nothing answers), 0.5 s, 1 s,
// then every 2 s: a gateway that appears is found within 2 s. After kFailoverMs without an
// established SA the next configured gateway is tried, round and round.
constexpr u32 kRetransmitMs = 500, kRetransmitMaxMs = 2000;
constexpr u8 kRetransmitTries = 5;
constexpr u32 kRestartMs = 2000, kKeepaliveMs = 20000;
constexpr u64 kFailoverMs = 10000;

bool rdrand_fill(void*, u8* out, u64 n) {
    while (n) {
        u64 r = 0;
        u8 good = 0;
        for (int i = 0; i < 32 && !good; ++i) asm volatile("rdrand %0; setc %1" : "=r"(r), "=qm"(good)::"cc");
        if (!good) return false;
        u64 const k = n < 8 ? n : 8;
        memcpy(out, &r, k);
        out += k;
        n -= k;
    }
    return true;
}

}  // namespace

bool MonitorTunnel::configure(VpnConfig const& v) {
    for (u32 i = 0; i < v.gateway_count && i < 4; ++i) {
        gateway_ports_[gateway_count_] = v.gateways[i].port;
        gateways_be_[gateway_count_++] = v.gateways[i].be;
    }
    gw_be_ = gateways_be_[0];
    ike::Config const c =
        ike_config(v, IkeTimers{kRetransmitMs, kRetransmitMaxMs, kRetransmitTries, kRestartMs, kKeepaliveMs});

    if (v.auth == VpnAuth::Cert) return configure_cert(v, c);
    BootModule const* m = find_module(boot_info(), v.psk);
    if (!m || !m->copy) {
        log("vpn: the PSK module '%s' was not loaded: the tunnel stays down", v.psk);
        return false;
    }
    u8* psk = static_cast<u8*>(m->copy);
    size_t len = m->end - m->start;
    size_t used = len;
    while (used && (psk[used - 1] == '\n' || psk[used - 1] == '\r')) --used;
    crypto::FpuGuard fpu;
    Status const st = ini().configure(c, psk, used);  // wipes psk[0, used)
    crypto::secure_zero(psk, len);                    // and the line end: nothing of the file stays
    if (!ok(st)) {
        log("vpn: IKE configuration refused (identities, proposals or an empty PSK): the tunnel stays down");
        return false;
    }
    return true;
}

namespace {

BootModule const* module_named(char const* name, char const* what) {
    BootModule const* m = find_module(boot_info(), name);
    if (!m || !m->copy) log("vpn: the %s module '%s' was not loaded: the tunnel stays down", what, name);
    return m && m->copy ? m : nullptr;
}

}  // namespace

// auth = cert: our certificate and key, and the pinned CA, from their modules. The key's bytes
// are wiped whatever happens (FileSigner::load wipes what it parsed; the module copy is zeroed
// whole here, trailing bytes included).
bool MonitorTunnel::configure_cert(VpnConfig const& v, ike::Config const& c) {
    BootModule const* ca = module_named(v.ca, "CA certificate");
    BootModule const* cert = module_named(v.cert, "certificate");
    BootModule const* key = module_named(v.key, "private key");
    if (!key) return false;
    u8* key_bytes = static_cast<u8*>(key->copy);
    size_t const key_len = key->end - key->start;
    bool good = false;
    if (ca && cert) {
        crypto::FpuGuard fpu;
        auto* signer = new (signer_mem_) ike::FileSigner{};
        Status st = signer->load(static_cast<u8 const*>(cert->copy), cert->end - cert->start, key_bytes, key_len,
                                 crypto::Random{rdrand_fill, nullptr});
        if (!ok(st))
            log("vpn: our certificate or its key was refused (unparsable, not a pair, or not RSA/P-256): the tunnel stays down");
        else if (st = ini().configure_cert(c, *signer, static_cast<u8 const*>(ca->copy), ca->end - ca->start); !ok(st))
            log("vpn: IKE configuration refused (identities, proposals or the CA certificate): the tunnel stays down");
        else
            good = true;
    }
    crypto::secure_zero(key_bytes, key_len);
    return good;
}

bool MonitorTunnel::init(VpnConfig const& v, VpnGuestPolicy* policy, sw::FrameSwitch* sw, nic::NicEnv* lock) {
    policy_ = policy;
    sw_ = sw;
    lock_ = lock;
    new (ini_mem_) ike::Initiator{*this, *this, *this, crypto::Random{rdrand_fill, nullptr}};
    ready_ = configure(v);
    return ready_;
}

bool MonitorTunnel::open_sockets() {
    Status const a = udp500_.open(ike::kIkePort, recv500, this);
    Status const b = udp4500_.open(ike::kNattPort, recv4500, this);
    if (ok(a) && ok(b)) return true;
    log("vpn: cannot open UDP 500/4500 on the monitor's stack (status %u/%u): the tunnel stays down",
        static_cast<unsigned>(a), static_cast<unsigned>(b));
    udp500_.close();
    udp4500_.close();
    ready_ = false;
    return false;
}

// The gateway's next hop MAC, for the ESP frames built outside lwIP. The last known one is
// kept while lwIP re-resolves an expired entry, so a long transfer does not stall on it.
void MonitorTunnel::refresh_next_hop() {
    u8 mac[6];
    if (net::stack_next_hop_mac(gw_be_, mac)) {
        memcpy(gw_mac_, mac, 6);
        gw_mac_known_ = true;
    }
}

void MonitorTunnel::failover() {
    ike::State const s = ini().state();
    u64 const now = now_ms();
    if (s == ike::State::Established || s == ike::State::Deleting) {
        attempt_ms_ = now;
        return;
    }
    if (gateway_count_ < 2 || now - attempt_ms_ < kFailoverMs) return;
    attempt_ms_ = now;
    gateway_index_ = (gateway_index_ + 1) % gateway_count_;
    gw_be_ = gateways_be_[gateway_index_];
    gw_mac_known_ = false;
    ++c_.gateway_switches;
    u8 ip[4];
    memcpy(ip, &gw_be_, 4);
    log("vpn: no SA with the gateway for %llu s: trying gateway %u.%u.%u.%u", static_cast<unsigned long long>(kFailoverMs / 1000),
        ip[0], ip[1], ip[2], ip[3]);
    ini().shutdown();  // not established: forgets the attempt at once
    ini().set_gateway(ip);
    ini().set_gateway_port(gateway_ports_[gateway_index_]);
    ini().start();
}

void MonitorTunnel::tick() {
    if (!ready_) return;
    nic::NicEnvLock guard(lock_);
    if (!started_) {
        if (!net::stack_has_address() || !open_sockets()) return;
        started_ = true;
        attempt_ms_ = now_ms();
        u8 const* g = reinterpret_cast<u8 const*>(&gw_be_);
        log("vpn: starting IKE with gateway %u.%u.%u.%u", g[0], g[1], g[2], g[3]);
        refresh_next_hop();
        crypto::FpuGuard fpu;
        ini().start();
        return;
    }
    refresh_next_hop();
    {
        crypto::FpuGuard fpu;  // IKE's crypto (mbedTLS GCM with AES-NI) in its timers
        ini().poll();
        failover();
    }
    c_.udp_too_long = udp500_.too_long() + udp4500_.too_long();
}

MonitorTunnel::View MonitorTunnel::view() const {
    View v{};
    if (!ready_) {
        v.state = ike::State::Idle;
        v.last_error = ike::Error::None;
        v.gateway_be = gw_be_;
        return v;
    }
    v.state = ini().state();
    v.last_error = ini().last_error();
    v.gateway_be = gw_be_;
    v.ike_spi_i = ini().spi_i();
    v.ike_spi_r = ini().spi_r();
    v.spi_in = child_in_;
    v.spi_out = child_out_;
    v.pkts_out = esp_.sealed;
    v.pkts_in = esp_.opened;
    v.bytes_out = c_.inner_bytes_out;
    v.bytes_in = c_.inner_bytes_in;
    return v;
}

ike::Counters MonitorTunnel::ike_counters() const { return ready_ ? ini().counters() : ike::Counters{}; }

}  // namespace tv::vpn
