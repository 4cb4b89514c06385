// One TLS 1.2 client connection over the monitor's lwIP stack (raw TCP API) with mbedTLS: for
// the policy fetch (net/policy_fetch), and nothing guest-facing. The server certificate must
// chain to the pinned CA and name the host (SNI and the certificate check use it); its
// validity dates are checked against the wall clock (net/wall_time) by this file's callback.
//
// Polled, like the stack: step() moves the connection on (connect, handshake, write, read)
// without blocking; lwIP's callbacks only move bytes into the receive buffer. Same thread
// rules as the stack (net/netstack.hpp): the network CPU only. Every failure leaves a reason
// (error()) for the caller's log line.
#pragma once

#include "core/types.hpp"

namespace tv::net {

struct TlsTrust;  // the pinned CA chain, the DRBG and the mbedTLS configuration

// Parses the PEM CA file (one or more certificates) and sets up the client configuration.
// Null with `why` filled when the file holds no usable certificate or no entropy was had.
TlsTrust* tls_trust_create(u8 const* pem, size_t len, char* why, size_t why_len);
// The wall clock for the validity check (seconds since 1970, UTC, at monitor clock `at_us`).
// 0: no clock; the validity dates are then not checked (logged once by the caller).
void tls_trust_set_clock(TlsTrust* t, u64 unix_seconds, u64 at_us);

enum class TlsState : u8 { Closed, Connecting, Handshake, Open, Failed };

class TlsClient {
  public:
    // Starts a TCP connection to addr_be:port for `host`. Failed (with error()) at once when
    // lwIP has no PCB.
    void open(TlsTrust* trust, u32 addr_be, u16 port, char const* host);
    // Moves the connection on; its state afterwards.
    TlsState step();
    // Open only: bytes written (possibly fewer than n; 0 when the send buffer is full), or -1.
    long write(u8 const* data, size_t n);
    // Open only: bytes read (0: none yet), -1: the server closed (close_notify or TCP FIN),
    // -2: failed (error()).
    long read(u8* out, size_t n);
    void close();  // tears down TLS and TCP; idempotent
    TlsState state() const { return state_; }
    char const* error() const { return error_; }
    // The longest single handshake step of this connection: what one poll held its exit for.
    u64 longest_step_us() const { return longest_step_us_; }

    // lwIP callbacks (public for the C linkage of the raw API only).
    void on_connected();
    bool on_data(void* pbuf);  // false: no room (lwIP keeps the pbuf and offers it again)
    void on_remote_close() { peer_closed_ = true; }
    void on_tcp_error(int err);

  private:
    friend int tls_bio_send(void*, unsigned char const*, size_t);
    friend int tls_bio_recv(void*, unsigned char*, size_t);
    void fail(char const* what, int mbedtls_err);
    void handshake();

    static constexpr size_t kRx = 24 * 1024;  // >= lwIP's TCP_WND: the window never overruns it
    TlsState state_{TlsState::Closed};
    void* pcb_{nullptr};   // struct tcp_pcb
    void* ssl_{nullptr};   // mbedtls_ssl_context (heap)
    TlsTrust* trust_{nullptr};
    char host_[96]{};
    bool peer_closed_{false};
    u64 longest_step_us_{0};
    u8 rx_[kRx]{};
    size_t rx_head_{0}, rx_len_{0};
    char error_[200]{};
};

}  // namespace tv::net
