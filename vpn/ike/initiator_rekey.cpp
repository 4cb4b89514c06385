// Rekeying the child SA (RFC 7296 §1.3.3, §2.8) from our side: CREATE_CHILD_SA with
// REKEY_SA naming the SPI we receive on, a new SPI and nonce, the same all-traffic selectors
// (no PFS: the new KEYMAT is prf+(SK_d, Ni | Nr) with the new nonces). The new SA is handed to
// the owner before the old one is deleted, so that packets in flight on the old SPIs are
// still accepted until the gateway confirms the Delete.
#include "crypto/secure_zero.hpp"
#include "vpn/ike/initiator.hpp"

namespace tv::vpn::ike {

namespace {

constexpr Ts4 kAll{0, 0, 65535, {0, 0, 0, 0}, {255, 255, 255, 255}};

}  // namespace

void Initiator::send_child_rekey() {
    u8 spi[4];
    if (!rng_(spi, sizeof spi) || !rng_(rekey_ni_, sizeof rekey_ni_)) {
        fail(Error::Protocol);
        return;
    }
    new_spi_in_ = get32(spi) | 0x100;
    u8 inner[512];
    ChainBuilder in{inner, sizeof inner};
    add_notify_spi(in, child_spi_in_, notify::kRekeySa);
    add_sa(in, Offer{Protocol::Esp, new_spi_in_, {cfg_.key_bits[0], cfg_.key_bits[1]}, {}});
    add_nonce(in, rekey_ni_, sizeof rekey_ni_);
    add_ts(in, Payload::TSi, &kAll, 1);
    add_ts(in, Payload::TSr, &kAll, 1);
    size_t const ilen = in.finish();
    req_id_ = next_id_++;
    pending_ = Pending::RekeyChild;
    size_t const len = ilen == 0 ? 0
                                 : seal(req_ + 4, kMaxMessage, static_cast<u8>(Exchange::CreateChildSa), 0, req_id_,
                                        in.first(), inner, ilen);
    log("ike: rekeying child SA %08x/%08x, new SPI %08x", child_spi_in_, child_spi_out_, new_spi_in_);
    send_request(static_cast<u8>(Exchange::CreateChildSa), len);
}

// Error notifies: the old child SA stays, and the rekey is tried again restart_ms later.
bool Initiator::rekey_notifies(PayloadList const& inner, u8 const* base) {
    for (u8 i = 0; i < inner.count; ++i) {
        Notify n{};
        if (inner.item[i].type != static_cast<u8>(Payload::Notify) ||
            decode_notify(base + inner.item[i].off, inner.item[i].len, n) != ParseError::Ok || n.type > notify::kLastError)
            continue;
        log("ike: child SA rekey refused by the gateway (notify %u%s); keeping the old SA, retrying later", n.type,
            n.type == notify::kTemporaryFailure ? ", TEMPORARY_FAILURE" : "");
        u64 const now = clock_.now_ms();
        child_since_ms_ = now - cfg_.child_rekey_ms + cfg_.restart_ms;
        return false;
    }
    return true;
}

void Initiator::on_rekey_response(PayloadList const& inner, u8 const* base) {
    if (!rekey_notifies(inner, base))
        return;
    PayloadRef const* sa = inner.find(Payload::SA);
    PayloadRef const* nr = inner.find(Payload::Nonce);
    PayloadRef const* tsr = inner.find(Payload::TSr);
    Chosen c{};
    Ts4 ts[kMaxTs];
    u8 nts = 0, skipped = 0;
    Offer const o{Protocol::Esp, new_spi_in_, {cfg_.key_bits[0], cfg_.key_bits[1]}, {}};
    ChildSa child = child_;
    char const* why = nullptr;
    if (sa == nullptr || nr == nullptr || tsr == nullptr)
        why = "SA, Nr or TSr missing";
    else if (decode_sa_reply(base + sa->off, sa->len, c) != ParseError::Ok || !chosen_matches(o, c))
        why = "its ESP proposal is malformed or not one we offered";
    else if (decode_nonce(base + nr->off, nr->len) != ParseError::Ok)
        why = "its nonce is malformed";
    else if (decode_ts(base + tsr->off, tsr->len, ts, nts, skipped) != ParseError::Ok || nts == 0)
        why = "its TSr is malformed";
    else if (!derive_child_keys(keys_.sk_d, rekey_ni_, sizeof rekey_ni_, base + nr->off, nr->len,
                                static_cast<u8>(c.key_bits / 8), child.keys))
        why = "KEYMAT derivation failed";
    if (why != nullptr) {
        ++counters_.malformed;
        log("ike: child SA rekey response refused: %s", why);
        fail(Error::Protocol);
        return;
    }
    old_child_ = true;
    old_spi_in_ = child_spi_in_;
    old_spi_out_ = child_spi_out_;
    child_spi_in_ = new_spi_in_;
    child_spi_out_ = get32(c.spi);
    child.spi_in = child_spi_in_;
    child.spi_out = child_spi_out_;
    child.remote_ts = ts[0];
    child_since_ms_ = clock_.now_ms();
    ++counters_.child_rekeys;
    log("ike: child SA rekeyed: ESP in %08x out %08x (was %08x/%08x)", child_spi_in_, child_spi_out_, old_spi_in_,
        old_spi_out_);
    ev_.child_up(child);
    child.keys.wipe();
    child_ = child;
    crypto::secure_zero(rekey_ni_, sizeof rekey_ni_);
    // Delete the old pair: our inbound SPI names it.
    u8 del[32];
    ChainBuilder in{del, sizeof del};
    add_delete(in, Protocol::Esp, &old_spi_in_, 1);
    size_t const ilen = in.finish();
    req_id_ = next_id_++;
    pending_ = Pending::DeleteChild;
    size_t const len = seal(req_ + 4, kMaxMessage, static_cast<u8>(Exchange::Informational), 0, req_id_, in.first(),
                            del, ilen);
    send_request(static_cast<u8>(Exchange::Informational), len);
}

void Initiator::on_child_delete_response() {
    if (!old_child_)
        return;
    old_child_ = false;
    log("ike: old child SA %08x/%08x deleted", old_spi_in_, old_spi_out_);
    ev_.child_down(old_spi_in_, old_spi_out_);
}

}  // namespace tv::vpn::ike
