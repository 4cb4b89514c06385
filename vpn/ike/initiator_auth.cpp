// IKE_AUTH with a pre-shared key: the request (IDi, INITIAL_CONTACT, [IDr], AUTH, a CP request,
// the ESP proposal and all-traffic selectors) and its response: error notifies become clear
// log lines, the gateway's AUTH is verified before anything else is believed, then the child
// SA is derived and handed to the owner.
#include "crypto/secure_zero.hpp"
#include "vpn/ike/initiator.hpp"

namespace tv::vpn::ike {

namespace {

constexpr Ts4 kAll{0, 0, 65535, {0, 0, 0, 0}, {255, 255, 255, 255}};

// The ID payload body as AUTH covers it: type, three reserved bytes, data.
size_t id_body(Identity const& id, u8 (&out)[4 + sizeof Identity::data]) {
    out[0] = id.type;
    out[1] = out[2] = out[3] = 0;
    for (size_t i = 0; i < id.len; ++i)
        out[4 + i] = id.data[i];
    return 4u + id.len;
}

char const* child_error(u16 type) {
    switch (type) {
        case notify::kNoProposalChosen:
            return "NO_PROPOSAL_CHOSEN (no common ESP proposal)";
        case notify::kTsUnacceptable:
            return "TS_UNACCEPTABLE (the gateway refuses all-traffic selectors)";
        case notify::kInternalAddressFailure:
            return "INTERNAL_ADDRESS_FAILURE (no inner address for us)";
        case notify::kFailedCpRequired:
            return "FAILED_CP_REQUIRED";
        case notify::kSinglePairRequired:
            return "SINGLE_PAIR_REQUIRED";
        case notify::kNoAdditionalSas:
            return "NO_ADDITIONAL_SAS";
        default:
            return nullptr;
    }
}

}  // namespace

void Initiator::send_auth() {
    u8* const inner = plain_;
    ChainBuilder in{inner, sizeof plain_};
    u8 idb[4 + sizeof Identity::data];
    size_t const idl = id_body(cfg_.local_id, idb);
    add_id(in, Payload::IDi, cfg_.local_id.type, cfg_.local_id.data, cfg_.local_id.len);
    size_t cert_len = 0;
    u8 const* const cert = signer_ != nullptr ? signer_->certificate(cert_len) : nullptr;
    if (cert != nullptr) {
        add_cert(in, Payload::CERT, kCertX509Signature, cert, cert_len);
        add_cert(in, Payload::CERTREQ, kCertX509Signature, peer_.authority(), kAuthorityBytes);
    }
    add_notify(in, Protocol::None, notify::kInitialContact, nullptr, 0);
    // A DN is sent as DER, which we do not have: the gateway then picks its own identity.
    if (cfg_.remote_id.len != 0 && cfg_.remote_id.type != idtype::kDerAsn1Dn)
        add_id(in, Payload::IDr, cfg_.remote_id.type, cfg_.remote_id.data, cfg_.remote_id.len);
    bool ok;
    if (signer_ != nullptr) {
        ok = add_cert_auth(in, idb, idl);
    } else {
        u8 auth[kPrfBytes];
        ok = psk_auth(pad_key_, msg1_, msg1_len_, nr_, nr_len_, keys_.sk_pi, idb, idl, auth);
        add_auth(in, kAuthSharedKey, auth, sizeof auth);
        crypto::secure_zero(auth, sizeof auth);
    }
    add_cp_request(in);
    u8 spi[4];
    ok = ok && rng_(spi, sizeof spi);
    child_spi_in_ = get32(spi) | 0x100;  // SPIs 1-255 are reserved (RFC 4303 §2.1)
    add_sa(in, Offer{Protocol::Esp, child_spi_in_, {cfg_.key_bits[0], cfg_.key_bits[1]}, {}});
    add_ts(in, Payload::TSi, &kAll, 1);
    add_ts(in, Payload::TSr, &kAll, 1);
    size_t const ilen = ok ? in.finish() : 0;
    req_id_ = next_id_++;
    port_ = kNattPort;  // RFC 3948: IKE floats to 4500 with IKE_AUTH
    state_ = State::AuthSent;
    size_t const len =
        ilen == 0 ? 0 : seal_request(static_cast<u8>(Exchange::IkeAuth), in.first(), inner, ilen);
    crypto::secure_zero(plain_, sizeof plain_);
    log("ike: IKE_AUTH as %.*s, ESP SPI %08x", cfg_.local_id.len,
        reinterpret_cast<char const*>(cfg_.local_id.data), child_spi_in_);
    send_request(static_cast<u8>(Exchange::IkeAuth), len);
}

// Error notifies of the IKE_AUTH response: first those about the IKE SA, then (child) those
// about the child SA, once the gateway is authenticated. False: the SA is failed (logged).
bool Initiator::auth_notifies(PayloadList const& inner, u8 const* base, bool child) {
    for (u8 i = 0; i < inner.count; ++i) {
        if (inner.item[i].type != static_cast<u8>(Payload::Notify))
            continue;
        Notify n{};
        if (decode_notify(base + inner.item[i].off, inner.item[i].len, n) != ParseError::Ok)
            continue;
        char const* const what = child_error(n.type);
        if (child != (what != nullptr))
            continue;
        if (n.type == notify::kAuthenticationFailed) {
            log("ike: IKE_AUTH: gateway refused our authentication (AUTHENTICATION_FAILED): %s",
                signer_ != nullptr ? "it does not trust our certificate, or our identity"
                                   : "wrong PSK or identity");
            fail(Error::AuthenticationFailed);
            return false;
        }
        if (what != nullptr) {
            log("ike: IKE_AUTH: no child SA: %s", what);
            Error const e = n.type == notify::kTsUnacceptable     ? Error::TsUnacceptable
                            : n.type == notify::kNoProposalChosen ? Error::NoProposalChosen
                                                                  : Error::NoInnerAddress;
            // The IKE SA itself may be up; without a child it is of no use, so delete it.
            send_informational(true);
            state_ = State::Deleting;
            set_error(e);
            return false;
        }
        if (n.type <= notify::kLastError) {
            log("ike: IKE_AUTH: gateway answered with error notify %u", n.type);
            fail(Error::Protocol);
            return false;
        }
    }
    return true;
}

// The gateway's AUTH over RealMessage2 | Ni | prf(SK_pr, IDr), and its identity if configured.
bool Initiator::check_peer_auth(PayloadList const& inner, u8 const* base) {
    if (signer_ != nullptr)
        return check_peer_cert(inner, base);
    PayloadRef const* idr = inner.find(Payload::IDr);
    PayloadRef const* au = inner.find(Payload::AUTH);
    u8 method = 0;
    u8 const* ad = nullptr;
    size_t al = 0;
    if (idr == nullptr || au == nullptr || idr->len < 4 ||
        decode_auth(base + au->off, au->len, method, ad, al) != ParseError::Ok) {
        log("ike: IKE_AUTH response refused: IDr or AUTH missing or malformed");
        fail(Error::Protocol);
        return false;
    }
    u8 want[kPrfBytes];
    bool const computed = psk_auth(pad_key_, msg2_, msg2_len_, ni_, sizeof ni_, keys_.sk_pr,
                                   base + idr->off, idr->len, want);
    bool const good =
        computed && method == kAuthSharedKey && al == sizeof want && crypto::ct_equal(ad, want, al);
    crypto::secure_zero(want, sizeof want);
    if (!good) {
        log("ike: IKE_AUTH: the gateway's AUTH does not verify (method %u): it does not know our "
            "PSK",
            method);
        fail(Error::PeerAuthBad);
        return false;
    }
    Identity const& r = cfg_.remote_id;
    bool same = r.len == 0 || (idr->len == 4u + r.len && base[idr->off] == r.type);
    for (size_t i = 0; same && r.len != 0 && i < r.len; ++i)
        same = base[idr->off + 4 + i] == r.data[i];
    if (!same) {
        log("ike: IKE_AUTH: the gateway's identity is not %.*s", r.len,
            reinterpret_cast<char const*>(r.data));
        fail(Error::PeerAuthBad);
        return false;
    }
    return true;
}

void Initiator::on_auth_response(PayloadList const& inner, u8 const* base) {
    if (!auth_notifies(inner, base, false) || !check_peer_auth(inner, base))
        return;
    log("ike: IKE SA %016llx/%016llx established with %u.%u.%u.%u",
        static_cast<unsigned long long>(spi_i_), static_cast<unsigned long long>(spi_r_),
        cfg_.gateway_ip[0], cfg_.gateway_ip[1], cfg_.gateway_ip[2], cfg_.gateway_ip[3]);
    if (!auth_notifies(inner, base, true) || !install_child(inner, base))
        return;
    state_ = State::Established;
    ike_since_ms_ = ike_keys_ms_ = last_keepalive_ms_ = clock_.now_ms();
}

bool Initiator::install_child(PayloadList const& inner, u8 const* base) {
    PayloadRef const* sa = inner.find(Payload::SA);
    PayloadRef const* tsr = inner.find(Payload::TSr);
    PayloadRef const* cp = inner.find(Payload::CP);
    Chosen c{};
    Ts4 ts[kMaxTs];
    u8 nts = 0, skipped = 0;
    Offer const o{Protocol::Esp, child_spi_in_, {cfg_.key_bits[0], cfg_.key_bits[1]}, {}};
    char const* why = nullptr;
    if (sa == nullptr || tsr == nullptr)
        why = "SA or TSr missing";
    else if (decode_sa_reply(base + sa->off, sa->len, c) != ParseError::Ok || !chosen_matches(o, c))
        why = "its ESP proposal is malformed or not one we offered";
    else if (decode_ts(base + tsr->off, tsr->len, ts, nts, skipped) != ParseError::Ok || nts == 0)
        why = "its TSr is malformed or has no IPv4 range";
    ChildSa child{};
    CpReply r{};
    if (why == nullptr && cp != nullptr && decode_cp(base + cp->off, cp->len, r) != ParseError::Ok)
        why = "its configuration reply is malformed";
    if (why == nullptr && !derive_child_keys(keys_.sk_d, ni_, sizeof ni_, nr_, nr_len_,
                                             static_cast<u8>(c.key_bits / 8), child.keys))
        why = "KEYMAT derivation failed";
    if (why != nullptr) {
        log("ike: IKE_AUTH: child SA refused: %s", why);
        send_informational(true);
        state_ = State::Deleting;
        set_error(Error::Protocol);
        return false;
    }
    child_spi_out_ = get32(c.spi);
    child.spi_in = child_spi_in_;
    child.spi_out = child_spi_out_;
    child.remote_ts = ts[0];
    for (size_t i = 0; i < 4; ++i) {
        child.gateway_ip[i] = cfg_.gateway_ip[i];
        child.inner_ip[i] = r.has_addr ? r.addr[i] : 0;
        child.dns[0][i] = r.dns[0][i];
        child.dns[1][i] = r.dns[1][i];
    }
    child.dns_count = r.dns_count;
    if (!r.has_addr)
        log("ike: IKE_AUTH: the gateway assigned no inner address");
    log("ike: child SA up: ESP in %08x out %08x, AES-GCM-16-%u, inner %u.%u.%u.%u, DNS "
        "%u.%u.%u.%u, remote "
        "%u.%u.%u.%u-%u.%u.%u.%u",
        child.spi_in, child.spi_out, c.key_bits, child.inner_ip[0], child.inner_ip[1],
        child.inner_ip[2], child.inner_ip[3], r.dns[0][0], r.dns[0][1], r.dns[0][2], r.dns[0][3],
        ts[0].lo[0], ts[0].lo[1], ts[0].lo[2], ts[0].lo[3], ts[0].hi[0], ts[0].hi[1], ts[0].hi[2],
        ts[0].hi[3]);
    child_up_ = true;
    child_since_ms_ = clock_.now_ms();
    child_rekey_asked_ = false;
    child.hard_lifetime_s = static_cast<u32>(hard_lifetime_ms(cfg_.child_rekey_ms) / 1000);
    ev_.child_up(child);
    child.keys.wipe();
    child_ = child;
    return true;
}

}  // namespace tv::vpn::ike
