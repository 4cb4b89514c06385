// The tunnel's control side: the initiator built from [vpn] with the PSK module, the sockets,
// the 10 ms tick (IKE's timers), failover between the configured gateways, the gateway's MAC.
#include <string.h>

#include "core/arch/x86/rdrand.hpp"
#include "core/boot_info.hpp"
#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/log.hpp"
#include "crypto/fpu_guard.hpp"
#include "crypto/secure_zero.hpp"
#include "drivers/nic/e1000_mediator.hpp"
#include "lib/new.hpp"
#include "net/monitor.hpp"
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

// Each link's initiator wipes the PSK it is given, so each is given this copy of the module's.
constinit u8 g_psk_copy[1024]{};

bool rdrand_fill(void*, u8* out, u64 n) { return x86::rdrand_fill(out, n); }

}  // namespace

bool MonitorTunnel::configure(VpnConfig const& v) {
    for (u32 i = 0; i < v.gateway_count && i < failover::kMaxGateways; ++i) {
        gateway_ports_[gateway_count_] = v.gateways[i].port;
        gateways_be_[gateway_count_] = v.gateways[i].be;
        targets_be_[gateway_count_++] = v.liveness_count ? v.liveness_be[v.liveness_count == 1 ? 0 : i] : 0;
    }
    params_.ping = v.liveness_count != 0;
    params_.interval_ms = v.liveness_interval_ms[0];
    params_.misses = v.liveness_misses[0];
    for (u32 i = 0; i < gateway_count_; ++i) {
        if (v.liveness_interval_count > 1) params_.interval_of[i] = v.liveness_interval_ms[i];
        if (v.liveness_misses_count > 1) params_.misses_of[i] = v.liveness_misses[i];
    }
    params_.standby = v.standby;
    params_.failback = v.failback_preferred ? failover::Failback::Preferred : failover::Failback::Stay;
    params_.hold_ms = v.failback_hold_s * 1000;
    params_.setup_ms = kFailoverMs;
    u64 r = 0;
    if (!rdrand_fill(nullptr, reinterpret_cast<u8*>(&r), 8) ||
        !rdrand_fill(nullptr, reinterpret_cast<u8*>(&tag_.cookie), 8)) {
        log("vpn: no random numbers for the liveness pings: the tunnel stays down");
        return false;
    }
    tag_.id = static_cast<u16>(r);
    ike::Config const c =
        ike_config(v, IkeTimers{kRetransmitMs, kRetransmitMaxMs, kRetransmitTries, kRestartMs, kKeepaliveMs});
    return v.auth == VpnAuth::Cert ? configure_cert(v, c) : configure_psk(v, c);
}

// Every link's initiator gets the PSK (each keeps only prf(PSK, pad) and wipes what it was
// given); the module's copy is wiped whole, line end included.
bool MonitorTunnel::configure_psk(VpnConfig const& v, ike::Config const& c) {
    BootModule const* m = find_module(boot_info(), v.psk);
    if (!m || !m->copy) {
        log("vpn: the PSK module '%s' was not loaded: the tunnel stays down", v.psk);
        return false;
    }
    u8* psk = static_cast<u8*>(m->copy);
    size_t len = m->end - m->start;
    size_t used = len;
    while (used && (psk[used - 1] == '\n' || psk[used - 1] == '\r')) --used;
    u8* const copy = g_psk_copy;
    bool good = used <= sizeof g_psk_copy;
    crypto::FpuGuard fpu;
    for (u32 i = 0; good && i < kLinks; ++i) {
        memcpy(copy, psk, used);
        good = ok(links_[i].ini().configure(c, copy, used));  // wipes copy[0, used)
    }
    crypto::secure_zero(g_psk_copy, sizeof g_psk_copy);
    crypto::secure_zero(psk, len);
    if (!good) log("vpn: IKE configuration refused (identities, proposals, an empty PSK or one over 1024 bytes): the tunnel stays down");
    return good;
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
        signer_built_ = true;
        Status st = signer->load(static_cast<u8 const*>(cert->copy), cert->end - cert->start, key_bytes, key_len,
                                 crypto::Random{rdrand_fill, nullptr});
        if (!ok(st))
            log("vpn: our certificate or its key was refused (unparsable, not a pair, or not RSA/P-256): the tunnel stays down");
        else {
            good = true;
            for (u32 i = 0; good && i < kLinks; ++i)
                good = ok(links_[i].ini().configure_cert(c, *signer, static_cast<u8 const*>(ca->copy), ca->end - ca->start));
            if (!good)
                log("vpn: IKE configuration refused (identities, proposals or the CA certificate): the tunnel stays down");
        }
    }
    crypto::secure_zero(key_bytes, key_len);
    return good;
}

bool MonitorTunnel::init(VpnConfig const& v, VpnGuestPolicy* policy, sw::FrameSwitch* sw, nic::NicEnv* lock) {
    policy_ = policy;
    sw_ = sw;
    lock_ = lock;
    for (GatewayLink& l : links_) l.init(this, crypto::Random{rdrand_fill, nullptr});
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

GatewayLink* MonitorTunnel::link_from(u32 src_be) {
    if (active_->from(src_be)) return active_;  // the active gateway's, should both name it
    for (GatewayLink& l : links_)
        if (l.from(src_be)) return &l;
    return nullptr;
}

GatewayLink* MonitorTunnel::link_of(u32 gateway) {
    for (GatewayLink& l : links_)
        if (l.index() == gateway) return &l;
    return nullptr;
}

GatewayLink const* MonitorTunnel::standby() const {
    int const sb = machine_.standby();
    for (GatewayLink const& l : links_)
        if (sb >= 0 && l.index() == static_cast<u32>(sb)) return &l;
    return nullptr;
}

void MonitorTunnel::start() {
    u64 const now = clock_us() / 1000;
    machine_.init(params_, gateway_count_, now);
    u8 const* g = reinterpret_cast<u8 const*>(&gateways_be_[0]);
    log("vpn: starting IKE with gateway %u.%u.%u.%u%s; liveness pings %s, every %u ms, dead after %u misses, "
        "failback %s", g[0], g[1], g[2], g[3], params_.standby && gateway_count_ > 1 ? " and the standby" : "",
        params_.ping ? "on" : "off (no liveness_target)", params_.interval_ms, params_.misses,
        params_.failback == failover::Failback::Preferred ? "to the first gateway" : "off (stay)");
    failover_tick(now);
}

void MonitorTunnel::tick() {
    if (!ready_ || stopped_) return;
    nic::NicEnvLock guard(lock_);
    crypto::FpuGuard fpu;  // IKE's crypto (mbedTLS GCM with AES-NI) in its timers, ESP for the pings
    if (!started_) {
        if (!net::stack_has_address() || !open_sockets()) return;
        started_ = true;
        start();
        return;
    }
    for (GatewayLink& l : links_) {
        l.refresh_next_hop();
        l.ini().poll();
    }
    failover_tick(clock_us() / 1000);
    held_.expire(clock_us() / 1000, !coming_up());
    c_.udp_too_long = udp500_.too_long() + udp4500_.too_long();
}

namespace {

// At power-off: a link with an SA to delete, or with the Delete (or IKE_AUTH) under way.
bool deleting(ike::State s) {
    return s == ike::State::Established || s == ike::State::AuthSent || s == ike::State::Deleting;
}

bool link_ready(void*) { return net::stack_link_up(); }

}  // namespace

// Between the power-off's network ticks: a Delete that waited for a request in flight goes out
// at the initiator's poll (the tunnel's own tick no longer runs it).
bool MonitorTunnel::deletes_done(void* self) {
    auto& t = *static_cast<MonitorTunnel*>(self);
    nic::NicEnvLock guard(t.lock_);
    crypto::FpuGuard fpu;
    bool done = true;
    for (GatewayLink& l : t.links_) {
        if (!deleting(l.ini().state())) continue;  // a failed link's poll would start IKE anew
        l.ini().poll();
        done = done && !deleting(l.ini().state());
    }
    return done;
}

// The guest powers off (its PM1 write) or resets (CF9, the FADT's reset register, the keyboard
// controller, a triple fault: core/handlers/power's guest-leaving hooks, `why` names which):
// the gateways learn at once that the SAs are gone instead of after their DPD. The NIC still sends: its bus mastering is the
// mediator's (drivers/nic/e1000_install keeps it on whatever the guest's driver wrote at its
// shutdown), and its rings are the monitor's again after the driver's reset.
void MonitorTunnel::shutdown(char const* why) {
    if (!ready_ || stopped_) return;
    if (!net::net_here()) {
        log("vpn: %s on another CPU than the network's: no Delete, the gateways find out by DPD", why);
        return;
    }
    u64 const t0 = clock_us();
    u32 sent = 0;
    // The guest's driver restarted autonegotiation at its shutdown: the link can be down a while
    // (500 ms in QEMU, seconds on copper); lwIP routes nothing then and the gateway's answer
    // would not be received.
    bool const link = net::net_run_until(link_ready, nullptr, kLinkWaitUs);
    {
        nic::NicEnvLock guard(lock_);
        crypto::FpuGuard fpu;
        stopped_ = true;
        // Every link is closed, so none signs again once the signer is gone below; those with
        // an SA (or one coming: IKE_AUTH in flight) send their Delete.
        for (GatewayLink& l : links_) {
            if (!started_) break;
            sent += deleting(l.ini().state()) ? 1 : 0;
            l.unbind();
        }
    }
    u64 const link_ms = (clock_us() - t0) / 1000;
    bool const answered = net::net_run_until(deletes_done, this, kDeleteWaitUs);
    u64 const ms = (clock_us() - t0) / 1000;
    nic::NicEnvLock guard(lock_);
    crypto::FpuGuard fpu;
    for (GatewayLink& l : links_) {
        l.ini().close();  // an unanswered Delete's IKE keys, the PSK's pad key
        l.db().clear();   // the child SAs' keys
    }
    bool const signer = signer_built_;
    if (signer) reinterpret_cast<ike::FileSigner*>(signer_mem_)->~FileSigner();  // mbedTLS zeroizes the key
    signer_built_ = false;
    log("vpn: %s: %s after %llu ms (the link %s after %llu ms); IKE and child SA keys%s wiped", why,
        sent == 0  ? "no IKE SA to delete"
        : answered ? "every IKE SA deleted, the gateways answered our Delete"
                   : "no answer to our Delete within the wait",
        static_cast<unsigned long long>(ms), link ? "up" : "still down", static_cast<unsigned long long>(link_ms),
        signer ? " and our signing key" : "");
}

namespace {

u8 live_code(failover::Machine const& m, int g) {
    return g < 0 ? 0 : static_cast<u8>(static_cast<u8>(m.gateway(static_cast<u32>(g)).live) + 1);
}

}  // namespace

MonitorTunnel::View MonitorTunnel::view() const {
    View v{};
    v.gateway_be = active().gateway_be() ? active().gateway_be() : gateways_be_[0];
    if (!ready_) {
        v.state = ike::State::Idle;
        v.last_error = ike::Error::None;
        return v;
    }
    v.state = active().ini().state();
    v.last_error = active().ini().last_failure();
    v.ike_spi_i = active().ini().spi_i();
    v.ike_spi_r = active().ini().spi_r();
    v.spi_in = active().spi_in();
    v.spi_out = active().spi_out();
    v.pkts_out = esp_.sealed;
    v.pkts_in = esp_.opened;
    v.bytes_out = c_.inner_bytes_out;
    v.bytes_in = c_.inner_bytes_in;
    if (GatewayLink const* s = standby()) {
        v.standby_be = s->gateway_be();
        v.standby_state = s->ini().state();
    }
    if (started_) {
        v.active_live = live_code(machine_, static_cast<int>(machine_.active()));
        v.standby_live = live_code(machine_, machine_.standby());
    }
    return v;
}

ike::Counters MonitorTunnel::ike_counters() const {
    if (!ready_) return ike::Counters{};
    ike::Counters k = links_[0].ini().counters();
    ike::Counters const& b = links_[1].ini().counters();
    k.rx += b.rx;
    k.tx += b.tx;
    k.retransmits += b.retransmits;
    k.malformed += b.malformed;
    k.ignored_response += b.ignored_response;
    k.foreign += b.foreign;
    k.peer_requests += b.peer_requests;
    k.dpd_sent += b.dpd_sent;
    k.child_rekeys += b.child_rekeys;
    k.ike_rekeys += b.ike_rekeys;
    k.keepalives += b.keepalives;
    k.fragments_sent += b.fragments_sent;
    return k;
}

}  // namespace tv::vpn
