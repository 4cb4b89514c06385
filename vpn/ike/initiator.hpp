// An IKEv2 initiator (RFC 7296) for one gateway, with a pre-shared key or certificates (RFC
// 7427 signatures; vpn/ike/cert.hpp, signer.hpp): IKE_SA_INIT (NAT
// detection, COOKIE, INVALID_KE_PAYLOAD retry with the group the gateway asks for), IKE_AUTH
// on UDP 4500 behind the non-ESP marker (RFC 3948) with a configuration request for an inner
// address and DNS, one ESP child SA (AES-GCM-16) for all traffic, then liveness checks (DPD,
// an empty INFORMATIONAL), the gateway's INFORMATIONAL requests answered, and a Delete at
// shutdown. Fragments (RFC 7383) both ways; rekeys of the child and the IKE SA from either side.
// Every request is retransmitted with exponential backoff on the given clock; a
// response that does not answer the request in flight (a retransmitted one, say) is counted
// and ignored.
//
// It owns no sockets and no timers: datagrams go out through a Transport, time comes from a
// Clock (milliseconds), received datagrams come in through on_datagram() and timers run in
// poll(). Single-threaded; fixed storage, no allocation of its own (mbedTLS allocates its
// bignums and parsed certificates), so the same code runs in the monitor and on the host.
#pragma once

#include "core/types.hpp"
#include "crypto/random.hpp"
// by its path from the tree's root (every build of vpn/ has -I.; not all have -Iinclude)
#include "include/thinvisor/vpn_codes.h"
#include "vpn/ike/cert.hpp"
#include "vpn/ike/dh.hpp"
#include "vpn/ike/keys.hpp"
#include "vpn/ike/message.hpp"
#include "vpn/ike/payloads.hpp"
#include "vpn/ike/signer.hpp"
#include "vpn/ike/sk.hpp"

namespace tv::vpn::ike {

class Transport {
  public:
    // Sends one UDP payload from local port `port` (500 or 4500) to the gateway: from 500 to
    // its port 500, from 4500 to its NAT-T port (Initiator::nat_port(): 4500, or the port the
    // gateway was configured with). On 4500 it already starts with the 4-byte zero marker. The bytes are valid only during
    // the call, which must not call back into the initiator.
    [[nodiscard]] virtual Status send(u16 port, u8 const* data, size_t len) = 0;

  protected:
    ~Transport() = default;
};

class Clock {
  public:
    virtual u64 now_ms() = 0;  // monotonic

  protected:
    ~Clock() = default;
};

// What the child SA needs for ESP (RFC 4303 over UDP 4500, RFC 4106 AES-GCM-16).
struct ChildSa {
    u32 spi_in;      // chosen by us: the gateway's ESP packets carry it
    u32 spi_out;     // chosen by the gateway: ours carry it
    ChildKeys keys;  // i_to_r protects what we send, r_to_i what we receive
    u8 gateway_ip[4];
    u8 inner_ip[4];  // from the configuration payload (0.0.0.0 if none was given)
    u8 dns[2][4];
    u8 dns_count;
    Ts4 remote_ts;  // the gateway's narrowed TSr (first selector)
    u32 hard_lifetime_s;  // past this the owner's ESP must stop using it (0: none)
};

// Hard lifetimes (RFC 7296 §2.8 leaves them to each end): a tenth past the rekey time and at
// least 10 s, like strongSwan's life_time = rekey_time + 10 %. A rekey that has not happened by
// then failed: the child SA stops carrying packets (ESP refuses it both ways) and the IKE SA is
// started over. 0 for a rekey time of 0 (no lifetime at all).
constexpr u64 hard_lifetime_ms(u64 rekey_ms) {
    return rekey_ms == 0 ? 0 : rekey_ms + (rekey_ms / 10 > 10000 ? rekey_ms / 10 : 10000);
}

class Events {
  public:
    virtual void line(char const* text) = 0;  // one log line, without newline
    // The child SA is up. The keys are valid during the call only: the initiator wipes its
    // copy afterwards.
    virtual void child_up(ChildSa const& sa) = 0;
    virtual void child_down(u32 spi_in, u32 spi_out) = 0;

  protected:
    ~Events() = default;
};

struct Identity {
    u8 type;  // idtype:: (for kDerAsn1Dn, data is the DN's text: "C=CH, O=Org, CN=gw")
    u8 len;
    u8 data[64];
};

struct Config {
    u8 local_ip[4];
    u8 gateway_ip[4];
    Identity local_id;
    Identity remote_id;  // len 0: the gateway's identity is not checked (its AUTH still is)
    u16 groups[3];       // in order of preference; the first is the one KE is made for
    u16 key_bits[2];     // AES-GCM-16 key sizes offered, for IKE and ESP
    u32 retransmit_ms;   // first retransmission timeout; doubles up to retransmit_max_ms
    u32 retransmit_max_ms;
    u8 retransmit_tries;  // an exchange of an established SA fails after this many sends
    u32 dpd_ms;           // liveness check after this long without a message (0: off)
    u32 restart_ms;       // after a failure, start over this much later
    u32 child_rekey_ms;   // rekey the child SA (CREATE_CHILD_SA) this long after it came up (0:
                          // never)
    u32 ike_rekey_ms;     // rekey the IKE SA this long after it came up (0: never)
    u32 keepalive_ms;  // NAT-T keepalive (RFC 3948 §2.3, one 0xFF byte on 4500) interval (0: off)
    bool force_encap;  // fake NAT detection so that ESP is always UDP-encapsulated
    u16 fragment_mtu;  // RFC 7383: encrypted messages whose IP packet would exceed this are sent
                       // as fragments that fit it, if the gateway supports them (0: 1280)
    u16 gateway_port;  // the gateway's IKE port: 500 (or 0) starts on 500 and floats to 4500
                       // with IKE_AUTH (RFC 3948); any other port (a gateway on 4501, say)
                       // carries everything, IKE_SA_INIT included, behind the non-ESP marker
                       // from our port 4500 (RFC 7296 §2.23), ESP in UDP too
    bool classic_sig;  // certificates: sign with AUTH method 1 (RSA) or 9 (ECDSA P-256) and do
                       // not announce RFC 7427, for a gateway without it (otherwise these
                       // methods are used only when the gateway did not announce SHA2-256)
    bool rsa_pss;      // certificates, an RSA key, RFC 7427: sign RSASSA-PSS (vpn/ike/pss.hpp)
                       // rather than PKCS#1 v1.5; the gateway's AUTH is taken in either
};

// Made from include/thinvisor/vpn_codes.h, which thinvisor-ctl's names come from too: a value
// is a position there (the device counters carry it), and each code's meaning is commented there.
enum class State : u8 {
#define TV_X(id, ctl_name) id,
    TV_VPN_STATES(TV_X)
#undef TV_X
};
char const* to_string(State s);

enum class Error : u8 {
#define TV_X(id, ctl_name) id,
    TV_VPN_ERRORS(TV_X)
#undef TV_X
};
char const* to_string(Error e);

struct Counters {
    u64 rx;
    u64 tx;
    u64 retransmits;
    u64 malformed;         // failed parsing or decryption
    u64 ignored_response;  // not the response to the request in flight (e.g. retransmitted)
    u64 foreign;           // another SA's SPI, or not from the gateway's role
    u64 peer_requests;
    u64 dpd_sent;
    u64 child_rekeys;
    u64 ike_rekeys;
    u64 keepalives;
    u64 fragments_sent;  // SKF fragments sent (retransmissions included)
};

class Initiator {
  public:
    Initiator(Transport& tx, Clock& clock, Events& ev, crypto::Random rng);
    ~Initiator();
    Initiator(Initiator const&) = delete;
    Initiator& operator=(Initiator const&) = delete;

    // Takes the configuration and the PSK; keeps only prf(PSK, "Key Pad for IKEv2") and wipes
    // psk[0, len) before returning, whatever the outcome.
    [[nodiscard]] Status configure(Config const& cfg, u8* psk, size_t psk_len);
    // Certificate authentication instead (RFC 7427 signatures, SHA-256): `signer` signs our
    // AUTH and gives our certificate (kept by reference: it must outlive the initiator); the
    // gateway's certificate must chain to the CA certificate `ca` (PEM or DER, parsed here)
    // and name cfg.remote_id, which is required.
    [[nodiscard]] Status configure_cert(Config const& cfg, Signer& signer, u8 const* ca,
                                        size_t ca_len);
    void start();
    // One received UDP payload from the gateway, from its port `port` (on 4500 including the
    // marker; an ESP packet there is not for us and is refused).
    void on_datagram(u16 port, u8 const* data, size_t len);
    void poll();
    // Deletes the IKE SA (and so its child); Closed once answered or given up. With a request
    // of ours in flight (IKE_AUTH included) the Delete waits for its answer (window 1, RFC 7296
    // §2.3) and goes at the next poll(); a request that fails closes the SA without one.
    void shutdown();
    // The end (the monitor's power-off, after the Delete's wait): the SA forgotten as it
    // stands, its keys and the PSK's pad key wiped, the signer let go; start() does nothing
    // any more (configure again to use it).
    void close();
    // The owner saw ESP from the gateway: it is alive, no DPD needed.
    void note_traffic() { last_rx_ms_ = clock_.now_ms(); }
    // The owner's ESP saw the outbound SA reach its soft limit (sequence numbers: sa.hpp
    // kSeqSoft): the child SA is rekeyed at the next poll, whatever child_rekey_ms says.
    void request_child_rekey() { child_rekey_asked_ = true; }
    // Points the initiator at another gateway (the owner's failover between the configured
    // ones, in order of preference); takes effect at the next start(). The PSK's pad key stays.
    void set_gateway(u8 const ip[4]) {
        for (int i = 0; i < 4; ++i)
            cfg_.gateway_ip[i] = ip[i];
    }
    void set_gateway_port(u16 port) { cfg_.gateway_port = port; }
    // The gateway's port for what we send from our port 4500 (IKE after IKE_SA_INIT, or all of
    // it with a configured port; ESP in UDP; keepalives).
    u16 nat_port() const { return floats() ? kNattPort : cfg_.gateway_port; }

    State state() const { return state_; }
    // The error of the current attempt: None again once IKE starts over.
    Error last_error() const { return error_; }
    // The latest failure, kept across restarts until the next one (None until something
    // failed): what thinvisor-ctl shows as last-error, so that a refusal stays visible while
    // the initiator retries (and an established tunnel still tells why it was down).
    Error last_failure() const { return failure_; }
    Counters const& counters() const { return counters_; }
    // Failed: when poll() starts over (IKE_SA_INIT anew); 0 in any other state.
    u64 restart_at_ms() const { return state_ == State::Failed ? restart_at_ : 0; }
    u64 spi_i() const { return spi_i_; }
    u64 spi_r() const { return spi_r_; }
    u16 group() const { return group_; }  // of the established IKE SA

  private:
    // initiator.cpp: dispatch, timers, sending, errors
    void log(char const* fmt, ...) __attribute__((format(printf, 2, 3)));
    void set_error(Error e) {
        error_ = e;
        failure_ = e;
    }
    void fail(Error e);
    void teardown();
    void send_request(u8 exchange, size_t len);
    void transmit(u8* msg, size_t len);
    void transmit_request();
    // Seals the request in flight (req_id_) from its inner payloads: one SK message in req_, or
    // SKF fragments in frags_ when the gateway takes them and one message would not fit
    // cfg_.fragment_mtu (RFC 7383). Returns the total length, 0 on failure.
    size_t seal_request(u8 exchange, u8 first, u8 const* plain, size_t plen);
    void on_response(Header const& h, PayloadList const& pl, size_t len);
    [[nodiscard]] bool open(Header const& h, PayloadList const& pl, PayloadList& inner,
                            u8 const*& base);
    size_t seal(u8* out, size_t cap, u8 exchange, u8 flags, u32 msg_id, u8 first, u8 const* plain,
                size_t plen);
    // initiator_init.cpp
    [[nodiscard]] bool begin_init();
    void send_init();
    void on_init_response(Header const& h, PayloadList const& pl, size_t len);
    [[nodiscard]] bool init_notifies(PayloadList const& pl);
    [[nodiscard]] bool init_keys(Header const& h, PayloadList const& pl, size_t len);
    // initiator_auth.cpp
    void send_auth();
    void on_auth_response(PayloadList const& inner, u8 const* base);
    [[nodiscard]] bool auth_notifies(PayloadList const& inner, u8 const* base, bool child);
    [[nodiscard]] bool check_peer_auth(PayloadList const& inner, u8 const* base);
    // initiator_cert.cpp
    [[nodiscard]] bool add_cert_auth(ChainBuilder& in, u8 const* idb, size_t idl);
    [[nodiscard]] size_t classic_auth(u8 const* idb, size_t idl, u8& method, u8* out, size_t cap);
    [[nodiscard]] CertCheck verify_peer_sig(u8 method, u8 const* ad, size_t al, u8 const* idr,
                                            size_t idr_len);
    [[nodiscard]] bool check_peer_cert(PayloadList const& inner, u8 const* base);
    [[nodiscard]] bool cert_verdict(CertCheck c);
    [[nodiscard]] bool config_ok(Config const& cfg);
    [[nodiscard]] bool install_child(PayloadList const& inner, u8 const* base);
    // initiator_rekey.cpp
    void send_child_rekey();
    void on_rekey_response(PayloadList const& inner, u8 const* base);
    [[nodiscard]] bool rekey_notifies(PayloadList const& inner, u8 const* base);
    void on_child_delete_response();
    void send_ike_rekey();
    void on_ike_rekey_response(PayloadList const& inner, u8 const* base);
    // ours: we started the rekey (and delete the old SA now); else the gateway did, and
    // becomes the new SA's original initiator (RFC 7296 §2.18)
    void switch_ike_sa(u64 spi_i, u64 spi_r, IkeKeys const& keys, bool ours);
    void on_old_ike(Header const& h, PayloadList const& pl);
    u16 init_port() const { return floats() ? kIkePort : cfg_.gateway_port; }  // IKE_SA_INIT's
    bool floats() const { return cfg_.gateway_port == 0 || cfg_.gateway_port == kIkePort; }
    u8 role_flag() const { return orig_init_ ? flag::kInitiator : 0; }
    SkKey const& send_key() const { return orig_init_ ? keys_.sk_ei : keys_.sk_er; }
    SkKey const& recv_key() const { return orig_init_ ? keys_.sk_er : keys_.sk_ei; }
    // initiator_info.cpp
    void send_informational(bool delete_ike);
    void on_info_response(bool was_delete);
    void on_peer_request(Header const& h, PayloadList const& pl);
    void answer_peer(Header const& h, PayloadList const& inner, u8 const* base);
    // initiator_peer_rekey.cpp
    void answer_child_rekey(PayloadList const& inner, u8 const* base, ChainBuilder& out);
    void answer_ike_rekey(PayloadList const& inner, u8 const* base, ChainBuilder& out);

    Transport& tx_;
    Clock& clock_;
    Events& ev_;
    crypto::Random rng_;
    Config cfg_{};
    u8 pad_key_[kPrfBytes] = {};
    bool configured_ = false;
    Signer* signer_ = nullptr;  // certificate authentication when set
    PeerVerifier peer_;
    bool sig_sha256_ = false;  // the gateway announced SHA2-256 signatures (RFC 7427)

    State state_ = State::Idle;
    Error error_ = Error::None;
    Error failure_ = Error::None;
    Counters counters_{};
    u64 restart_at_ = 0;

    u64 spi_i_ = 0, spi_r_ = 0;  // by role: the original initiator's SPI first
    bool orig_init_ = true;      // false after the gateway rekeyed the IKE SA
    Dh dh_;
    u16 ke_group_ = 0;
    u16 group_ = 0;
    u8 ni_[32] = {};
    u8 nr_[kMaxNonce] = {};
    size_t nr_len_ = 0;
    u8 cookie_[64] = {};
    size_t cookie_len_ = 0;
    u8 msg1_[kMaxMessage] = {};  // our IKE_SA_INIT request as last sent, for our AUTH
    size_t msg1_len_ = 0;
    u8 msg2_[kMaxMessage] = {};  // the gateway's IKE_SA_INIT response, for its AUTH
    size_t msg2_len_ = 0;
    IkeKeys keys_{};
    u8 key_len_ = 0;
    u64 iv_ = 0;
    u16 port_ = 500;
    bool frag_ok_ = false;
    u32 child_spi_in_ = 0, child_spi_out_ = 0;
    bool child_up_ = false;
    bool child_rekey_asked_ = false;  // request_child_rekey(); cleared when a new child is up

    // the request in flight (window size 1)
    u8 req_[kMaxMessage + 4] = {};
    size_t req_len_ = 0;
    bool req_open_ = false;
    bool delete_wanted_ = false;  // shutdown() while a request was in flight
    u8 req_exchange_ = 0;
    u32 req_id_ = 0;
    u32 next_id_ = 0;
    u32 req_tries_ = 0;
    u64 req_deadline_ = 0;
    u32 req_timeout_ = 0;
    // the request in flight as fragments (req_frags_ of them; 0: one message in req_), each
    // behind 4 bytes of room for the non-ESP marker, sent and resent together
    static constexpr size_t kFragOverhead = kHeaderBytes + kGenericBytes + 4 + kIvBytes + 1 +
                                            kIcvBytes;
    u8 frags_[kMaxMessage + Reassembly::kMaxFragments * (kFragOverhead + 4)] = {};
    u16 req_frags_ = 0;
    u16 frag_off_[Reassembly::kMaxFragments] = {};
    u16 frag_len_[Reassembly::kMaxFragments] = {};
    // what the request in flight is for, once the SA is up
    enum class Pending : u8 { None, Info, DeleteIke, RekeyChild, DeleteChild, RekeyIke };
    Pending pending_ = Pending::None;

    // the child SA as handed to the owner (keys wiped), and one being replaced by a rekey
    ChildSa child_{};
    u64 child_since_ms_ = 0;
    u64 ike_since_ms_ = 0;  // the rekey timer (a failed rekey moves it on to retry later)
    u64 ike_keys_ms_ = 0;   // when the IKE SA's keys were made: its hard lifetime counts from here
    u64 new_spi_i_ = 0;
    u32 new_spi_in_ = 0;
    u8 rekey_ni_[32] = {};
    bool old_child_ = false;
    u32 old_spi_in_ = 0, old_spi_out_ = 0;

    // the IKE SA a rekey replaced, kept to answer (or see answered) its Delete
    struct OldIke {
        u64 spi_i, spi_r;
        SkKey in, out;
        bool orig_init;
        bool valid;
    } old_ike_{};
    // the gateway's IKE SA rekey, answered under the old SA and switched to right after
    bool switch_pending_ = false;
    u64 sw_spi_i_ = 0, sw_spi_r_ = 0;
    IkeKeys sw_keys_{};

    // the gateway's requests: the next ID it must use, and our last answer for a retransmission
    u32 peer_next_id_ = 0;
    u8 answer_[kMaxMessage + 4] = {};
    size_t answer_len_ = 0;

    u64 last_rx_ms_ = 0;
    u64 last_keepalive_ms_ = 0;
    u8 rx_[kMaxMessage] = {};  // the received datagram, copied before any check
    u8 plain_[kMaxMessage] = {};  // the inner payloads of a request being built
    Reassembly reasm_;
};

}  // namespace tv::vpn::ike
