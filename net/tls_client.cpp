#include "net/tls_client.hpp"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arch/x86/rdrand.hpp"
#include "core/clock.hpp"
#include "crypto/fpu_guard.hpp"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/error.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "net/wall_time.hpp"

namespace tv::net {

// mbedTLS's net_sockets.h codes (that header is for its own sockets, not built here).
constexpr int kNetSendFailed = -0x004E, kNetRecvFailed = -0x004C;

struct TlsTrust {
    mbedtls_x509_crt ca;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    u64 unix_at_boot, boot_us;  // the wall clock: unix_at_boot at monitor clock boot_us; 0 none
};

namespace {

constinit bool g_trust_made = false;
TlsTrust g_trust;  // one: the policy fetch is the monitor's only TLS client

int rdrand_entropy(void*, unsigned char* out, size_t n) { return x86::rdrand_fill(out, n) ? 0 : -1; }

CivilTime civil(mbedtls_x509_time const& t) { return CivilTime{t.year, t.mon, t.day, t.hour, t.min, t.sec}; }

// The validity dates mbedTLS itself cannot check here (no MBEDTLS_HAVE_TIME_DATE: the VPN's
// certificates keep their documented behaviour), against the RTC-based wall clock.
int check_dates(void* ctx, mbedtls_x509_crt* crt, int, uint32_t* flags) {
    auto const* t = static_cast<TlsTrust const*>(ctx);
    if (!t->unix_at_boot) return 0;
    u64 const now = t->unix_at_boot + (clock_us() - t->boot_us) / 1'000'000;
    Validity const v = check_validity(now, civil(crt->valid_from), civil(crt->valid_to));
    if (v == Validity::NotYet) *flags |= MBEDTLS_X509_BADCERT_FUTURE;
    if (v == Validity::Expired) *flags |= MBEDTLS_X509_BADCERT_EXPIRED;
    return 0;
}

err_t cb_connected(void* arg, tcp_pcb*, err_t) {
    if (arg) static_cast<TlsClient*>(arg)->on_connected();
    return ERR_OK;
}

err_t cb_recv(void* arg, tcp_pcb*, pbuf* p, err_t) {
    auto* c = static_cast<TlsClient*>(arg);
    if (!p) {
        if (c) c->on_remote_close();
        return ERR_OK;
    }
    if (c && !c->on_data(p)) return ERR_MEM;  // lwIP keeps it and offers it again
    pbuf_free(p);
    return ERR_OK;
}

void cb_err(void* arg, err_t err) {
    if (arg) static_cast<TlsClient*>(arg)->on_tcp_error(err);
}

char const* tcp_error_name(int e) {
    switch (e) {
        case ERR_RST: return "connection reset (refused?)";
        case ERR_ABRT: return "connection aborted (timed out?)";
        case ERR_CLSD: return "connection closed";
        case ERR_MEM: return "out of memory";
        case ERR_RTE: return "no route";
        default: return "TCP error";
    }
}

}  // namespace

TlsTrust* tls_trust_create(u8 const* pem, size_t len, char* why, size_t why_len) {
    if (g_trust_made) return &g_trust;
    TlsTrust& t = g_trust;
    // mbedTLS wants a PEM buffer NUL-terminated, its length counting the NUL.
    u8* copy = static_cast<u8*>(malloc(len + 1));
    if (!copy) return snprintf(why, why_len, "no memory for the CA file"), nullptr;
    memcpy(copy, pem, len);
    copy[len] = 0;
    crypto::FpuGuard fpu;
    mbedtls_x509_crt_init(&t.ca);
    int const r = mbedtls_x509_crt_parse(&t.ca, copy, len + 1);
    free(copy);
    if (r != 0 || t.ca.version == 0) {
        char e[80];
        mbedtls_strerror(r, e, sizeof e);
        snprintf(why, why_len, "the CA file holds no usable PEM certificate (%s)", r ? e : "empty");
        mbedtls_x509_crt_free(&t.ca);
        return nullptr;
    }
    mbedtls_ctr_drbg_init(&t.drbg);
    static constexpr char kPers[] = "thinvisor policy fetch";
    if (mbedtls_ctr_drbg_seed(&t.drbg, rdrand_entropy, nullptr, reinterpret_cast<unsigned char const*>(kPers),
                              sizeof kPers - 1) != 0) {
        snprintf(why, why_len, "no entropy (RDRAND) for the TLS random numbers");
        mbedtls_x509_crt_free(&t.ca);
        return nullptr;
    }
    mbedtls_ssl_config_init(&t.conf);
    if (mbedtls_ssl_config_defaults(&t.conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        snprintf(why, why_len, "mbedTLS refused the client configuration");
        return nullptr;
    }
    mbedtls_ssl_conf_min_version(&t.conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_authmode(&t.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t.conf, &t.ca, nullptr);
    mbedtls_ssl_conf_rng(&t.conf, mbedtls_ctr_drbg_random, &t.drbg);
    mbedtls_ssl_conf_verify(&t.conf, check_dates, &t);
    t.unix_at_boot = 0;
    g_trust_made = true;
    return &t;
}

void tls_trust_set_clock(TlsTrust* t, u64 unix_seconds, u64 at_us) {
    t->unix_at_boot = unix_seconds;
    t->boot_us = at_us;
}

int tls_bio_send(void* ctx, unsigned char const* buf, size_t len) {
    auto* c = static_cast<TlsClient*>(ctx);
    auto* pcb = static_cast<tcp_pcb*>(c->pcb_);
    if (!pcb) return kNetSendFailed;
    size_t n = tcp_sndbuf(pcb);
    if (n > len) n = len;
    if (n > 0xFFFF) n = 0xFFFF;
    if (n == 0) return MBEDTLS_ERR_SSL_WANT_WRITE;
    if (tcp_write(pcb, buf, static_cast<u16>(n), TCP_WRITE_FLAG_COPY) != ERR_OK) return MBEDTLS_ERR_SSL_WANT_WRITE;
    (void)tcp_output(pcb);
    return static_cast<int>(n);
}

int tls_bio_recv(void* ctx, unsigned char* buf, size_t len) {
    auto* c = static_cast<TlsClient*>(ctx);
    if (c->rx_len_ == 0) {
        if (c->peer_closed_) return 0;  // EOF
        return c->pcb_ ? MBEDTLS_ERR_SSL_WANT_READ : kNetRecvFailed;
    }
    size_t const n = len < c->rx_len_ ? len : c->rx_len_;
    memcpy(buf, c->rx_ + c->rx_head_, n);
    c->rx_head_ += n;
    c->rx_len_ -= n;
    if (c->rx_len_ == 0) c->rx_head_ = 0;
    if (c->pcb_) tcp_recved(static_cast<tcp_pcb*>(c->pcb_), static_cast<u16>(n));
    return static_cast<int>(n);
}

void TlsClient::fail(char const* what, int err) {
    char e[100] = "";
    if (err) mbedtls_strerror(err, e, sizeof e);
    if (err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && ssl_) {
        char info[128] = "";
        uint32_t const flags = mbedtls_ssl_get_verify_result(static_cast<mbedtls_ssl_context*>(ssl_));
        int const n = mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
        // One line per reason: joined, so the log line stays one line.
        for (int i = 0; i < n && info[i]; ++i)
            if (info[i] == '\n') info[i] = i + 1 < n && info[i + 1] ? ';' : 0;
        snprintf(error_, sizeof error_, "%s: server certificate refused: %s", what, info);
    } else {
        snprintf(error_, sizeof error_, "%s%s%s", what, err ? ": " : "", e);
    }
    state_ = TlsState::Failed;
}

void TlsClient::open(TlsTrust* trust, u32 addr_be, u16 port, char const* host) {
    close();
    trust_ = trust;
    snprintf(host_, sizeof host_, "%s", host);
    peer_closed_ = false;
    longest_step_us_ = 0;
    rx_head_ = rx_len_ = 0;
    error_[0] = 0;
    tcp_pcb* pcb = tcp_new();
    if (!pcb) return fail("TCP: no free PCB", 0);
    pcb_ = pcb;
    tcp_arg(pcb, this);
    tcp_recv(pcb, cb_recv);
    tcp_err(pcb, cb_err);
    ip_addr_t a;
    ip_addr_set_ip4_u32_val(a, addr_be);
    state_ = TlsState::Connecting;
    if (tcp_connect(pcb, &a, port, cb_connected) != ERR_OK) fail("TCP: connect refused by lwIP", 0);
}

void TlsClient::on_connected() {
    if (state_ != TlsState::Connecting) return;
    auto* ssl = static_cast<mbedtls_ssl_context*>(calloc(1, sizeof(mbedtls_ssl_context)));
    if (!ssl) return fail("TLS: no memory for the context", 0);
    ssl_ = ssl;
    mbedtls_ssl_init(ssl);
    int r = mbedtls_ssl_setup(ssl, &trust_->conf);
    if (r == 0) r = mbedtls_ssl_set_hostname(ssl, host_);
    if (r != 0) return fail("TLS setup", r);
    mbedtls_ssl_set_bio(ssl, this, tls_bio_send, tls_bio_recv, nullptr);
    state_ = TlsState::Handshake;
}

bool TlsClient::on_data(void* p) {
    auto* pb = static_cast<pbuf*>(p);
    if (pb->tot_len > kRx - rx_head_ - rx_len_) {
        if (pb->tot_len > kRx - rx_len_) return false;
        memmove(rx_, rx_ + rx_head_, rx_len_);
        rx_head_ = 0;
    }
    rx_len_ += pbuf_copy_partial(pb, rx_ + rx_head_ + rx_len_, pb->tot_len, 0);
    return true;
}

void TlsClient::on_tcp_error(int err) {
    pcb_ = nullptr;  // lwIP has freed it
    if (state_ == TlsState::Closed || state_ == TlsState::Failed) return;
    char what[64];
    snprintf(what, sizeof what, "TCP: %s (lwIP error %d)", tcp_error_name(err), err);
    fail(what, 0);
}

// The handshake runs on the timer CPU inside one of the guest's exits, and its public-key
// steps (the server's chain, ECDHE) take hundreds of ms each under an emulator. So one poll
// runs steps only while its budget lasts: an exit holds the guest for the costliest single
// step, not the whole handshake, and the next steps wait for the next poll.
void TlsClient::handshake() {
    constexpr u64 kPollBudgetUs = 2'000;
    auto* ssl = static_cast<mbedtls_ssl_context*>(ssl_);
    crypto::FpuGuard fpu;  // AES-GCM (AES-NI) and the DRBG use SSE registers
    u64 const start = clock_us();
    while (ssl->state != MBEDTLS_SSL_HANDSHAKE_OVER) {
        u64 const t0 = clock_us();
        int const r = mbedtls_ssl_handshake_step(ssl);
        u64 const took = clock_us() - t0;
        if (took > longest_step_us_) longest_step_us_ = took;
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) return;
        if (r != 0) return fail("TLS handshake", r);
        if (clock_us() - start >= kPollBudgetUs) break;
    }
    if (ssl->state == MBEDTLS_SSL_HANDSHAKE_OVER) state_ = TlsState::Open;
}

TlsState TlsClient::step() {
    if (state_ == TlsState::Handshake) handshake();
    return state_;
}

long TlsClient::write(u8 const* data, size_t n) {
    if (state_ != TlsState::Open) return -1;
    crypto::FpuGuard fpu;
    int const r = mbedtls_ssl_write(static_cast<mbedtls_ssl_context*>(ssl_), data, n);
    if (r >= 0) return r;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
    fail("TLS write", r);
    return -1;
}

long TlsClient::read(u8* out, size_t n) {
    if (state_ != TlsState::Open) return -2;
    crypto::FpuGuard fpu;
    int const r = mbedtls_ssl_read(static_cast<mbedtls_ssl_context*>(ssl_), out, n);
    if (r > 0) return r;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
    if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF) return -1;
    fail("TLS read", r);
    return -2;
}

void TlsClient::close() {
    if (ssl_) {
        auto* ssl = static_cast<mbedtls_ssl_context*>(ssl_);
        {
            crypto::FpuGuard fpu;
            if (state_ == TlsState::Open && pcb_) (void)mbedtls_ssl_close_notify(ssl);
            mbedtls_ssl_free(ssl);
        }
        free(ssl);
        ssl_ = nullptr;
    }
    if (auto* pcb = static_cast<tcp_pcb*>(pcb_)) {
        tcp_arg(pcb, nullptr);
        tcp_recv(pcb, nullptr);
        tcp_err(pcb, nullptr);
        if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
        pcb_ = nullptr;
    }
    if (state_ != TlsState::Failed) state_ = TlsState::Closed;
}

}  // namespace tv::net
