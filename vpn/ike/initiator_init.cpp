// IKE_SA_INIT: the request (SA, KE, Ni, NAT detection, fragmentation support, and a COOKIE
// when the gateway asked for one), and its response: COOKIE and INVALID_KE_PAYLOAD restart
// the exchange, NO_PROPOSAL_CHOSEN ends it, otherwise the keys are derived.
#include <mbedtls/sha1.h>
#include <stdio.h>

#include "crypto/secure_zero.hpp"
#include "vpn/ike/initiator.hpp"

namespace tv::vpn::ike {

namespace {

// NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port) (RFC 7296 §2.23).
bool nat_hash(u64 spi_i, u64 spi_r, u8 const (&ip)[4], u16 port, u8 (&out)[20]) {
    u8 in[8 + 8 + 4 + 2];
    put64(in, spi_i);
    put64(in + 8, spi_r);
    for (size_t i = 0; i < 4; ++i)
        in[16 + i] = ip[i];
    put16(in + 20, port);
    return mbedtls_sha1_ret(in, sizeof in, out) == 0;
}

}  // namespace

// Fresh SPI, nonce and key share for a new IKE SA.
bool Initiator::begin_init() {
    u8 spi[8];
    if (!rng_(spi, sizeof spi) || !rng_(ni_, sizeof ni_))
        return false;
    spi_i_ = get64(spi) | 1;  // never zero
    ke_group_ = cfg_.groups[0];
    return true;
}

void Initiator::send_init() {
    u8 ke[kMaxKeBytes];
    size_t const ke_len = dh_public_len(ke_group_);
    if (!dh_.start(ke_group_, rng_, ke, sizeof ke)) {
        log("ike: cannot make a DH group %u key share", ke_group_);
        fail(Error::Protocol);
        return;
    }
    ChainBuilder cb{req_ + 4, kMaxMessage};
    cb.header(Header{spi_i_, 0, 0, kVersion, static_cast<u8>(Exchange::IkeSaInit), flag::kInitiator,
                     0, 0});
    if (cookie_len_ != 0)
        add_notify(cb, Protocol::None, notify::kCookie, cookie_, cookie_len_);
    Offer const o{Protocol::Ike,
                  0,
                  {cfg_.key_bits[0], cfg_.key_bits[1]},
                  {cfg_.groups[0], cfg_.groups[1], cfg_.groups[2]}};
    add_sa(cb, o);
    add_ke(cb, ke_group_, ke, ke_len);
    add_nonce(cb, ni_, sizeof ni_);
    u8 src[20], dst[20];
    // A gateway on its own port gets everything there, from our 4500 behind the marker.
    port_ = floats() ? kIkePort : kNattPort;
    bool ok = nat_hash(spi_i_, 0, cfg_.gateway_ip, init_port(), dst);
    // Forcing encapsulation: a source hash that cannot match makes the gateway see a NAT in
    // front of us, so that ESP travels in UDP 4500, the only form the monitor sends.
    ok = ok && (cfg_.force_encap ? rng_(src, sizeof src)
                                 : nat_hash(spi_i_, 0, cfg_.local_ip, port_, src));
    add_notify(cb, Protocol::None, notify::kNatDetectionSourceIp, src, sizeof src);
    add_notify(cb, Protocol::None, notify::kNatDetectionDestinationIp, dst, sizeof dst);
    add_notify(cb, Protocol::None, notify::kFragmentationSupported, nullptr, 0);
    if (signer_ != nullptr && !cfg_.classic_sig) {  // RFC 7427 §4: we sign and verify with SHA2-256
        static constexpr u8 kSha256[2] = {0, 2};
        add_notify(cb, Protocol::None, notify::kSignatureHashAlgorithms, kSha256, sizeof kSha256);
    }
    size_t const len = ok ? cb.finish() : 0;
    crypto::secure_zero(ke, sizeof ke);
    for (size_t i = 0; i < len; ++i)  // RealMessage1 of the AUTH computation
        msg1_[i] = req_[4 + i];
    msg1_len_ = len;
    state_ = State::InitSent;
    req_frags_ = 0;  // never fragmented (RFC 7383 §2.5)
    req_id_ = 0;
    next_id_ = 1;
    char port[8] = "";
    if (!floats())
        snprintf(port, sizeof port, ":%u", unsigned{cfg_.gateway_port});
    log("ike: IKE_SA_INIT to %u.%u.%u.%u%s, SPI %016llx, DH group %u%s", cfg_.gateway_ip[0],
        cfg_.gateway_ip[1], cfg_.gateway_ip[2], cfg_.gateway_ip[3], port,
        static_cast<unsigned long long>(spi_i_), ke_group_,
        cookie_len_ != 0 ? ", with cookie" : "");
    send_request(static_cast<u8>(Exchange::IkeSaInit), len);
}

// Handles the notifies that end or restart the exchange. False: handled, stop here.
bool Initiator::init_notifies(PayloadList const& pl) {
    for (u8 i = 0; i < pl.count; ++i) {
        if (pl.item[i].type != static_cast<u8>(Payload::Notify))
            continue;
        Notify n{};
        if (decode_notify(rx_ + pl.item[i].off, pl.item[i].len, n) != ParseError::Ok)
            continue;
        if (n.type == notify::kCookie) {
            if (n.data_len == 0 || n.data_len > sizeof cookie_) {
                ++counters_.malformed;
                log("ike: IKE_SA_INIT: refused a %lu-byte cookie", static_cast<unsigned long>(n.data_len));
                return false;
            }
            for (size_t k = 0; k < n.data_len; ++k)
                cookie_[k] = n.data[k];
            cookie_len_ = n.data_len;
            log("ike: IKE_SA_INIT: gateway sent a COOKIE, retrying with it");
            send_init();
            return false;
        }
        if (n.type == notify::kInvalidKePayload) {
            u16 const want = n.data_len == 2 ? get16(n.data) : 0;
            bool offered = false;
            for (u16 g : cfg_.groups)
                offered = offered || (g != 0 && g == want);
            if (!offered || want == ke_group_) {
                log("ike: IKE_SA_INIT: gateway wants DH group %u (INVALID_KE_PAYLOAD), which we do "
                    "not offer",
                    want);
                fail(Error::InvalidKe);
                return false;
            }
            log("ike: IKE_SA_INIT: gateway wants DH group %u instead of %u (INVALID_KE_PAYLOAD), "
                "retrying",
                want, ke_group_);
            ke_group_ = want;
            send_init();
            return false;
        }
        if (n.type == notify::kNoProposalChosen) {
            log("ike: IKE_SA_INIT: gateway accepts none of our IKE proposals (NO_PROPOSAL_CHOSEN): "
                "AES-GCM-16-%u/%u, PRF-HMAC-SHA2-256, DH %u/%u/%u",
                cfg_.key_bits[0], cfg_.key_bits[1], cfg_.groups[0], cfg_.groups[1], cfg_.groups[2]);
            fail(Error::NoProposalChosen);
            return false;
        }
        if (n.type <= notify::kLastError) {
            log("ike: IKE_SA_INIT: gateway answered with error notify %u", n.type);
            fail(Error::Protocol);
            return false;
        }
        if (n.type == notify::kFragmentationSupported)
            frag_ok_ = true;
        for (size_t k = 0; n.type == notify::kSignatureHashAlgorithms && k + 1 < n.data_len; k += 2)
            sig_sha256_ = sig_sha256_ || get16(n.data + k) == 2;
    }
    return true;
}

void Initiator::on_init_response(Header const& h, PayloadList const& pl, size_t len) {
    frag_ok_ = sig_sha256_ = false;
    if (!init_notifies(pl))
        return;
    if (!init_keys(h, pl, len))
        return;
    req_open_ = false;
    last_rx_ms_ = clock_.now_ms();
    send_auth();
}

// Checks the gateway's choice and key share and derives the IKE SA's keys.
bool Initiator::init_keys(Header const& h, PayloadList const& pl, size_t len) {
    PayloadRef const* sa = pl.find(Payload::SA);
    PayloadRef const* ke = pl.find(Payload::KE);
    PayloadRef const* nr = pl.find(Payload::Nonce);
    Chosen c{};
    u16 group = 0;
    u8 const* kd = nullptr;
    size_t kl = 0;
    char const* why = nullptr;
    Offer const o{Protocol::Ike,
                  0,
                  {cfg_.key_bits[0], cfg_.key_bits[1]},
                  {cfg_.groups[0], cfg_.groups[1], cfg_.groups[2]}};
    if (sa == nullptr || ke == nullptr || nr == nullptr || h.spi_r == 0)
        why = "SA, KE, Nr or the responder SPI missing";
    else if (decode_sa_reply(rx_ + sa->off, sa->len, c) != ParseError::Ok || !chosen_matches(o, c))
        why = "its SA reply is malformed or picks something we did not offer";
    else if (c.dh != ke_group_ ||
             decode_ke(rx_ + ke->off, ke->len, group, kd, kl) != ParseError::Ok ||
             group != ke_group_)
        why = "its KE is not for the group of ours";
    else if (decode_nonce(rx_ + nr->off, nr->len) != ParseError::Ok)
        why = "its nonce is shorter than 16 or longer than 256 bytes";
    u8 gir[256];
    if (why == nullptr && !dh_.finish(kd, kl, gir, sizeof gir))
        why = "its DH public value is invalid";
    if (why != nullptr) {
        ++counters_.malformed;
        log("ike: IKE_SA_INIT response refused: %s", why);
        fail(Error::Protocol);
        return false;
    }
    spi_r_ = h.spi_r;
    group_ = ke_group_;
    nr_len_ = nr->len;
    for (size_t i = 0; i < nr_len_; ++i)
        nr_[i] = rx_[nr->off + i];
    for (size_t i = 0; i < len; ++i)  // RealMessage2 of the gateway's AUTH
        msg2_[i] = rx_[i];
    msg2_len_ = len;
    key_len_ = static_cast<u8>(c.key_bits / 8);
    bool const ok = derive_ike_keys(ni_, sizeof ni_, nr_, nr_len_, gir, dh_.secret_len(), spi_i_,
                                    spi_r_, key_len_, keys_);
    crypto::secure_zero(gir, sizeof gir);
    dh_.clear();
    if (!ok) {
        log("ike: key derivation failed");
        fail(Error::Protocol);
        return false;
    }
    log("ike: IKE_SA_INIT done: SPIr %016llx, AES-GCM-16-%u, PRF-HMAC-SHA2-256, DH group %u%s",
        static_cast<unsigned long long>(spi_r_), c.key_bits, ke_group_,
        frag_ok_ ? ", fragmentation" : "");
    return true;
}

}  // namespace tv::vpn::ike
