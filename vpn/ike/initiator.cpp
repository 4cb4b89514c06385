// The initiator's frame: configuration, datagram intake and dispatch, the request in flight
// and its retransmission, failure and restart.
#include "vpn/ike/initiator.hpp"

#include <stdarg.h>
#include <stdio.h>

#include "crypto/secure_zero.hpp"

namespace tv::vpn::ike {

char const* to_string(State s) {
    switch (s) {
        case State::Idle:
            return "idle";
        case State::InitSent:
            return "IKE_SA_INIT sent";
        case State::AuthSent:
            return "IKE_AUTH sent";
        case State::Established:
            return "established";
        case State::Deleting:
            return "deleting";
        case State::Failed:
            return "failed";
        case State::Closed:
            return "closed";
    }
    return "?";
}

char const* to_string(Error e) {
    switch (e) {
        case Error::None:
            return "none";
        case Error::NoProposalChosen:
            return "NO_PROPOSAL_CHOSEN";
        case Error::AuthenticationFailed:
            return "AUTHENTICATION_FAILED";
        case Error::PeerAuthBad:
            return "gateway authentication failed";
        case Error::TsUnacceptable:
            return "TS_UNACCEPTABLE";
        case Error::NoInnerAddress:
            return "no inner address";
        case Error::InvalidKe:
            return "INVALID_KE_PAYLOAD";
        case Error::Timeout:
            return "timeout";
        case Error::Protocol:
            return "protocol error";
        case Error::Deleted:
            return "deleted by the gateway";
        case Error::Expired:
            return "IKE SA past its hard lifetime";
        case Error::PeerWrongCa:
            return "gateway certificate not from the pinned CA";
        case Error::PeerWrongIdentity:
            return "gateway identity not the expected one";
    }
    return "?";
}

Initiator::Initiator(Transport& tx, Clock& clock, Events& ev, crypto::Random rng)
    : tx_{tx}, clock_{clock}, ev_{ev}, rng_{rng} {}

Initiator::~Initiator() {
    crypto::secure_zero(pad_key_, sizeof pad_key_);
    keys_.wipe();
}

void Initiator::log(char const* fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ev_.line(buf);
}

Status Initiator::configure(Config const& cfg, u8* psk, size_t psk_len) {
    bool ok = psk != nullptr && psk_len != 0 && psk_pad_key(psk, psk_len, pad_key_);
    if (psk != nullptr)
        crypto::secure_zero(psk, psk_len);
    if (!(ok && config_ok(cfg))) {
        crypto::secure_zero(pad_key_, sizeof pad_key_);
        log("ike: configuration refused (PSK, identity, DH groups or key sizes)");
        return Status::Invalid;
    }
    cfg_ = cfg;
    signer_ = nullptr;
    configured_ = true;
    return Status::Ok;
}

bool Initiator::config_ok(Config const& cfg) {
    bool ok = cfg.local_id.len != 0 && cfg.local_id.len <= sizeof cfg.local_id.data &&
              cfg.remote_id.len <= sizeof cfg.remote_id.data && dh_supported(cfg.groups[0]) &&
              cfg.retransmit_ms != 0 && cfg.retransmit_tries != 0 &&
              (cfg.key_bits[0] == 128 || cfg.key_bits[0] == 256) &&
              (cfg.fragment_mtu == 0 || cfg.fragment_mtu >= 576);
    for (u16 g : cfg.groups)
        ok = ok && (g == 0 || dh_supported(g));
    return ok;
}

void Initiator::start() {
    if (!configured_)
        return;
    teardown();
    delete_wanted_ = false;
    error_ = Error::None;
    if (!begin_init()) {
        fail(Error::Protocol);
        return;
    }
    send_init();
}

// Forgets the SA (the caller learns of a lost child through child_down).
void Initiator::teardown() {
    if (old_child_)
        ev_.child_down(old_spi_in_, old_spi_out_);
    if (child_up_)
        ev_.child_down(child_spi_in_, child_spi_out_);
    child_up_ = old_child_ = false;
    pending_ = Pending::None;
    keys_.wipe();
    dh_.clear();
    reasm_.reset();
    req_open_ = false;
    spi_r_ = 0;
    port_ = kIkePort;
    next_id_ = 0;
    peer_next_id_ = 0;
    answer_len_ = 0;
    cookie_len_ = 0;
    frag_ok_ = false;
    sig_sha256_ = false;
    orig_init_ = true;
    crypto::secure_zero(&old_ike_, sizeof old_ike_);
    switch_pending_ = false;
    sw_keys_.wipe();
    peer_.forget();
}

void Initiator::fail(Error e) {
    set_error(e);
    teardown();
    state_ = State::Failed;
    restart_at_ = clock_.now_ms() + cfg_.restart_ms;
    log("ike: SA with %u.%u.%u.%u failed: %s; starting over in %u ms", cfg_.gateway_ip[0],
        cfg_.gateway_ip[1], cfg_.gateway_ip[2], cfg_.gateway_ip[3], to_string(e), cfg_.restart_ms);
}

void Initiator::transmit(u8* msg, size_t len) {
    // msg points 4 bytes into a buffer whose first 4 are free: on 4500 they become the marker.
    u8* const framed = msg - 4;
    bool sent;
    if (port_ == kNattPort) {
        framed[0] = framed[1] = framed[2] = framed[3] = 0;
        sent = ok(tx_.send(port_, framed, len + 4));
    } else {
        sent = ok(tx_.send(port_, msg, len));
    }
    if (sent)
        ++counters_.tx;
}

void Initiator::send_request(u8 exchange, size_t len) {
    if (len == 0) {
        log("ike: cannot build the %u request (too long)", exchange);
        fail(Error::Protocol);
        return;
    }
    req_len_ = len;
    req_exchange_ = exchange;
    req_open_ = true;
    req_tries_ = 1;
    req_timeout_ = cfg_.retransmit_ms;
    req_deadline_ = clock_.now_ms() + req_timeout_;
    if (req_frags_ != 0)
        log("ike: message %u (exchange %u, %lu bytes) sent as %u fragments", req_id_, exchange,
            static_cast<unsigned long>(len), req_frags_);
    transmit_request();
}

void Initiator::transmit_request() {
    if (req_frags_ == 0) {
        transmit(req_ + 4, req_len_);
        return;
    }
    for (u16 i = 0; i < req_frags_; ++i) {
        transmit(frags_ + frag_off_[i], frag_len_[i]);
        ++counters_.fragments_sent;
    }
}

size_t Initiator::seal_request(u8 exchange, u8 first, u8 const* plain, size_t plen) {
    req_frags_ = 0;
    size_t const mtu = cfg_.fragment_mtu != 0 ? cfg_.fragment_mtu : 1280;
    // IPv4 and UDP headers, and the non-ESP marker on 4500
    size_t const limit = mtu - 20 - 8 - (port_ == kNattPort ? 4 : 0);
    size_t const whole = kHeaderBytes + kGenericBytes + kIvBytes + plen + 1 + kIcvBytes;
    if (!frag_ok_ || whole <= limit)
        return seal(req_ + 4, kMaxMessage, exchange, 0, req_id_, first, plain, plen);
    size_t const chunk = limit - kFragOverhead;  // fragment_mtu >= 576: chunk > 480
    size_t const total = (plen + chunk - 1) / chunk;
    if (total > Reassembly::kMaxFragments)
        return 0;
    size_t pos = 4, sum = 0;
    for (size_t i = 0; i < total; ++i) {
        size_t const from = i * chunk, n = plen - from < chunk ? plen - from : chunk;
        ChainBuilder cb{frags_ + pos, sizeof frags_ - pos};
        cb.header(Header{spi_i_, spi_r_, 0, kVersion, exchange, role_flag(), req_id_, 0});
        size_t const len = seal_skf(cb, first, static_cast<u16>(i + 1), static_cast<u16>(total),
                                    plain + from, n, send_key(), ++iv_);
        if (len == 0)
            return 0;
        frag_off_[i] = static_cast<u16>(pos);
        frag_len_[i] = static_cast<u16>(len);
        pos += len + 4;  // the next fragment's marker room
        sum += len;
    }
    req_frags_ = static_cast<u16>(total);
    return sum;
}

size_t Initiator::seal(u8* out, size_t cap, u8 exchange, u8 flags, u32 msg_id, u8 first,
                       u8 const* plain, size_t plen) {
    ChainBuilder cb{out, cap};
    cb.header(
        Header{spi_i_, spi_r_, 0, kVersion, exchange, static_cast<u8>(flags | role_flag()), msg_id, 0});
    return seal_sk(cb, first, plain, plen, send_key(), ++iv_);
}

void Initiator::poll() {
    u64 const now = clock_.now_ms();
    if (delete_wanted_ && !req_open_) {  // shutdown() waited for the request in flight
        delete_wanted_ = false;
        shutdown();
        return;
    }
    if (state_ == State::Failed && now >= restart_at_) {
        start();
        return;
    }
    if (req_open_ && now >= req_deadline_) {
        // IKE_SA_INIT has no SA to lose: it is retried for as long as the gateway is silent.
        if (state_ != State::InitSent && req_tries_ >= cfg_.retransmit_tries) {
            log("ike: gateway did not answer exchange %u (message %u) after %u sends",
                req_exchange_, req_id_, req_tries_);
            if (state_ == State::Deleting) {  // closed all the same, but say the Delete was lost
                teardown();
                set_error(Error::Timeout);
                state_ = State::Closed;
                return;
            }
            fail(Error::Timeout);
            return;
        }
        ++req_tries_;
        ++counters_.retransmits;
        req_timeout_ =
            req_timeout_ * 2 > cfg_.retransmit_max_ms ? cfg_.retransmit_max_ms : req_timeout_ * 2;
        req_deadline_ = now + req_timeout_;
        log("ike: retransmitting message %u (send %u, next in %u ms)", req_id_, req_tries_,
            req_timeout_);
        transmit_request();
        return;
    }
    if (state_ == State::Established && cfg_.keepalive_ms != 0 &&
        now - last_keepalive_ms_ >= cfg_.keepalive_ms) {
        // Keeps a NAT's mapping for UDP 4500 alive between our messages (RFC 3948 §2.3).
        static constexpr u8 kKeepalive = 0xff;
        last_keepalive_ms_ = now;
        if (ok(tx_.send(kNattPort, &kKeepalive, 1)))
            ++counters_.keepalives;
    }
    if (state_ == State::Established && cfg_.ike_rekey_ms != 0 &&
        now - ike_keys_ms_ >= hard_lifetime_ms(cfg_.ike_rekey_ms)) {
        log("ike: the IKE SA %016llx/%016llx is %llu s old, past its hard lifetime without a rekey: "
            "starting over",
            static_cast<unsigned long long>(spi_i_), static_cast<unsigned long long>(spi_r_),
            static_cast<unsigned long long>((now - ike_keys_ms_) / 1000));
        fail(Error::Expired);
        return;
    }
    if (state_ == State::Established && !req_open_ && cfg_.ike_rekey_ms != 0 &&
        now - ike_since_ms_ >= cfg_.ike_rekey_ms) {
        send_ike_rekey();
        return;
    }
    if (state_ == State::Established && !req_open_ && child_up_ &&
        (child_rekey_asked_ || (cfg_.child_rekey_ms != 0 && now - child_since_ms_ >= cfg_.child_rekey_ms))) {
        send_child_rekey();
        return;
    }
    if (state_ == State::Established && !req_open_ && cfg_.dpd_ms != 0 &&
        now - last_rx_ms_ >= cfg_.dpd_ms) {
        ++counters_.dpd_sent;
        send_informational(false);
    }
}

void Initiator::shutdown() {
    if ((state_ == State::Established || state_ == State::AuthSent) && req_open_) {
        delete_wanted_ = true;  // IKE_AUTH's answer makes an SA the gateway has: delete it then
        return;
    }
    if (state_ == State::Established) {
        log("ike: deleting the IKE SA %016llx/%016llx", static_cast<unsigned long long>(spi_i_),
            static_cast<unsigned long long>(spi_r_));
        send_informational(true);
        state_ = State::Deleting;
        return;
    }
    if (state_ != State::Deleting) {
        teardown();
        state_ = State::Closed;
    }
}

void Initiator::close() {
    teardown();
    crypto::secure_zero(pad_key_, sizeof pad_key_);
    signer_ = nullptr;
    configured_ = false;
    delete_wanted_ = false;
    state_ = State::Closed;
}

void Initiator::on_datagram(u16 port, u8 const* data, size_t len) {
    if (state_ == State::Idle || state_ == State::Closed || state_ == State::Failed)
        return;
    ++counters_.rx;
    if (port == kNattPort) {
        if (len < 4 || data[0] != 0 || data[1] != 0 || data[2] != 0 || data[3] != 0) {
            ++counters_.foreign;  // ESP (or a keepalive): the owner's business, not IKE
            return;
        }
        data += 4;
        len -= 4;
    }
    if (len > sizeof rx_) {
        ++counters_.malformed;
        log("ike: dropped a %lu-byte message (limit %lu)", static_cast<unsigned long>(len),
            static_cast<unsigned long>(sizeof rx_));
        return;
    }
    for (size_t i = 0; i < len; ++i)  // copy before check: the parser sees only our copy
        rx_[i] = data[i];
    Header h{};
    PayloadList pl{};
    ParseError const e = parse_message(rx_, len, h, pl);
    if (e != ParseError::Ok) {
        ++counters_.malformed;
        if (e == ParseError::UnsupportedCritical)
            log("ike: dropped a message with unsupported critical payload %u", pl.unknown_critical);
        else
            log("ike: dropped a malformed message (%s)", to_string(e));
        return;
    }
    if (old_ike_.valid && h.spi_i == old_ike_.spi_i && h.spi_r == old_ike_.spi_r) {
        on_old_ike(h, pl);
        return;
    }
    if (h.spi_i != spi_i_ || ((h.flags & flag::kInitiator) != 0) == orig_init_ ||
        (h.exchange != static_cast<u8>(Exchange::IkeSaInit) && h.spi_r != spi_r_)) {
        ++counters_.foreign;
        return;
    }
    if ((h.flags & flag::kResponse) != 0)
        on_response(h, pl, len);
    else
        on_peer_request(h, pl);
}

void Initiator::on_response(Header const& h, PayloadList const& pl, size_t len) {
    if (!req_open_ || h.msg_id != req_id_ || h.exchange != req_exchange_) {
        ++counters_.ignored_response;
        log("ike: ignored a response to message %u (exchange %u): not the request in flight",
            h.msg_id, h.exchange);
        return;
    }
    if (state_ == State::InitSent) {
        on_init_response(h, pl, len);
        return;
    }
    PayloadList inner{};
    u8 const* base = nullptr;
    if (!open(h, pl, inner, base))
        return;
    req_open_ = false;
    last_rx_ms_ = clock_.now_ms();
    Pending const was = pending_;
    pending_ = Pending::None;
    if (state_ == State::AuthSent)
        on_auth_response(inner, base);
    else if (was == Pending::RekeyChild)
        on_rekey_response(inner, base);
    else if (was == Pending::DeleteChild)
        on_child_delete_response();
    else if (was == Pending::RekeyIke)
        on_ike_rekey_response(inner, base);
    else
        on_info_response(was == Pending::DeleteIke);
}

// Decrypts an SK message (or collects SKF fragments) into `inner`, whose offsets are relative
// to `base`. False: dropped (logged), or a fragment was kept for later.
bool Initiator::open(Header const& h, PayloadList const& pl, PayloadList& inner, u8 const*& base) {
    PayloadRef const* sk = pl.find(Payload::SK);
    PayloadRef const* skf = pl.find(Payload::SKF);
    SkKey const& k = recv_key();
    u8* plain = nullptr;
    size_t plen = 0;
    u8 first = pl.inner_first;
    ParseError e = ParseError::BadPayload;
    if (sk != nullptr) {
        e = open_sk(rx_, *sk, k, plain, plen);
    } else if (skf != nullptr && frag_ok_) {
        u16 num = 0, total = 0;
        e = open_skf(rx_, *skf, k, num, total, plain, plen);
        if (e == ParseError::Ok) {
            auto const r = reasm_.add(h.msg_id, num, total, first, plain, plen);
            if (r == Reassembly::Result::Incomplete)
                return false;
            if (r == Reassembly::Result::Refused) {
                ++counters_.malformed;
                log("ike: dropped fragment %u/%u of message %u", num, total, h.msg_id);
                return false;
            }
            base = reasm_.data();
            first = reasm_.first();
            e = parse_chain(reasm_.data(), 0, reasm_.size(), first, inner);
            if (e != ParseError::Ok) {
                ++counters_.malformed;
                log("ike: dropped reassembled message %u (%s)", h.msg_id, to_string(e));
            }
            return e == ParseError::Ok;
        }
    }
    if (e != ParseError::Ok) {
        ++counters_.malformed;
        log("ike: dropped message %u: no valid encrypted payload (%s)", h.msg_id, to_string(e));
        return false;
    }
    base = plain;
    e = parse_chain(plain, 0, plen, first, inner);
    if (e != ParseError::Ok) {
        ++counters_.malformed;
        log("ike: dropped message %u: inner payloads %s", h.msg_id, to_string(e));
        return false;
    }
    return true;
}

}  // namespace tv::vpn::ike
