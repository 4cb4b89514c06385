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
    size_t const len = ilen == 0
                           ? 0
                           : seal_request(static_cast<u8>(Exchange::CreateChildSa), in.first(),
                                          inner, ilen);
    log("ike: rekeying child SA %08x/%08x, new SPI %08x", child_spi_in_, child_spi_out_,
        new_spi_in_);
    send_request(static_cast<u8>(Exchange::CreateChildSa), len);
}

// Error notifies of a rekey: the old SA stays, and the caller tries again restart_ms later.
bool Initiator::rekey_notifies(PayloadList const& inner, u8 const* base) {
    for (u8 i = 0; i < inner.count; ++i) {
        Notify n{};
        if (inner.item[i].type != static_cast<u8>(Payload::Notify) ||
            decode_notify(base + inner.item[i].off, inner.item[i].len, n) != ParseError::Ok ||
            n.type > notify::kLastError)
            continue;
        log("ike: rekey refused by the gateway (notify %u%s); keeping the old SA, retrying in %u "
            "ms",
            n.type, n.type == notify::kTemporaryFailure ? ", TEMPORARY_FAILURE" : "",
            cfg_.restart_ms);
        return false;
    }
    return true;
}

void Initiator::on_rekey_response(PayloadList const& inner, u8 const* base) {
    if (!rekey_notifies(inner, base)) {
        child_since_ms_ = clock_.now_ms() - cfg_.child_rekey_ms + cfg_.restart_ms;
        return;
    }
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
    child_rekey_asked_ = false;
    ++counters_.child_rekeys;
    log("ike: child SA rekeyed: ESP in %08x out %08x (was %08x/%08x)", child_spi_in_,
        child_spi_out_, old_spi_in_, old_spi_out_);
    child.hard_lifetime_s = static_cast<u32>(hard_lifetime_ms(cfg_.child_rekey_ms) / 1000);
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
    size_t const len =
        seal_request(static_cast<u8>(Exchange::Informational), in.first(), del, ilen);
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

namespace tv::vpn::ike {

// Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18): CREATE_CHILD_SA carrying an IKE proposal with
// our new SPI, a new nonce and a new key share in the SA's group. The child SAs move to the new
// IKE SA unchanged; the old one is deleted with a single Delete (its answer arrives under the
// old SPIs and is dropped as foreign: a lost Delete leaves the gateway to expire it).
void Initiator::send_ike_rekey() {
    u8 spi[8];
    u8 ke[kMaxKeBytes];
    if (!rng_(spi, sizeof spi) || !rng_(rekey_ni_, sizeof rekey_ni_) ||
        !dh_.start(group_, rng_, ke, sizeof ke)) {
        fail(Error::Protocol);
        return;
    }
    new_spi_i_ = get64(spi) | 1;
    u8 inner[512];
    ChainBuilder in{inner, sizeof inner};
    u16 const bits = static_cast<u16>(key_len_ * 8);
    add_sa(in, Offer{Protocol::Ike, new_spi_i_, {bits, 0}, {group_, 0, 0}});
    add_nonce(in, rekey_ni_, sizeof rekey_ni_);
    add_ke(in, group_, ke, dh_public_len(group_));
    crypto::secure_zero(ke, sizeof ke);
    size_t const ilen = in.finish();
    req_id_ = next_id_++;
    pending_ = Pending::RekeyIke;
    size_t const len = ilen == 0
                           ? 0
                           : seal_request(static_cast<u8>(Exchange::CreateChildSa), in.first(),
                                          inner, ilen);
    crypto::secure_zero(inner, sizeof inner);
    log("ike: rekeying IKE SA %016llx/%016llx, new SPI %016llx",
        static_cast<unsigned long long>(spi_i_), static_cast<unsigned long long>(spi_r_),
        static_cast<unsigned long long>(new_spi_i_));
    send_request(static_cast<u8>(Exchange::CreateChildSa), len);
}

void Initiator::on_ike_rekey_response(PayloadList const& inner, u8 const* base) {
    if (!rekey_notifies(inner, base)) {
        ike_since_ms_ = clock_.now_ms() - cfg_.ike_rekey_ms + cfg_.restart_ms;
        dh_.clear();
        return;
    }
    PayloadRef const* sa = inner.find(Payload::SA);
    PayloadRef const* nr = inner.find(Payload::Nonce);
    PayloadRef const* ke = inner.find(Payload::KE);
    u16 const bits = static_cast<u16>(key_len_ * 8);
    Offer const o{Protocol::Ike, new_spi_i_, {bits, 0}, {group_, 0, 0}};
    Chosen c{};
    u16 g = 0;
    u8 const* kd = nullptr;
    size_t kl = 0;
    u8 gir[256];
    IkeKeys next{};
    char const* why = nullptr;
    if (sa == nullptr || nr == nullptr || ke == nullptr)
        why = "SA, Nr or KE missing";
    else if (decode_sa_reply(base + sa->off, sa->len, c) != ParseError::Ok ||
             !chosen_matches(o, c) || get64(c.spi) == 0)
        why = "its IKE proposal is malformed or not ours";
    else if (decode_nonce(base + nr->off, nr->len) != ParseError::Ok)
        why = "its nonce is malformed";
    else if (decode_ke(base + ke->off, ke->len, g, kd, kl) != ParseError::Ok || g != group_ ||
             !dh_.finish(kd, kl, gir, sizeof gir))
        why = "its KE is not a valid value of our group";
    else if (!derive_ike_keys(rekey_ni_, sizeof rekey_ni_, base + nr->off, nr->len, gir,
                              dh_.secret_len(), new_spi_i_, get64(c.spi), key_len_, next,
                              keys_.sk_d))
        why = "key derivation failed";
    crypto::secure_zero(gir, sizeof gir);
    dh_.clear();
    if (why != nullptr) {
        ++counters_.malformed;
        log("ike: IKE SA rekey response refused: %s", why);
        next.wipe();
        fail(Error::Protocol);
        return;
    }
    switch_ike_sa(new_spi_i_, get64(c.spi), next, true);
    next.wipe();
}

void Initiator::switch_ike_sa(u64 spi_i, u64 spi_r, IkeKeys const& keys, bool ours) {
    if (ours) {
        u8 del[16];
        ChainBuilder in{del, sizeof del};
        add_delete(in, Protocol::Ike, nullptr, 0);
        size_t const ilen = in.finish();
        size_t const len = seal(answer_ + 4, kMaxMessage, static_cast<u8>(Exchange::Informational),
                                0, next_id_, in.first(), del, ilen);
        if (len != 0)
            transmit(answer_ + 4, len);  // under the old SA's SPIs and keys
    }
    old_ike_ = OldIke{spi_i_, spi_r_, recv_key(), send_key(), orig_init_, true};
    log("ike: IKE SA rekeyed: %016llx/%016llx replaces %016llx/%016llx",
        static_cast<unsigned long long>(spi_i), static_cast<unsigned long long>(spi_r),
        static_cast<unsigned long long>(spi_i_), static_cast<unsigned long long>(spi_r_));
    spi_i_ = spi_i;
    spi_r_ = spi_r;
    keys_ = keys;
    orig_init_ = ours;
    next_id_ = 0;
    peer_next_id_ = 0;
    answer_len_ = 0;
    reasm_.reset();
    ike_since_ms_ = ike_keys_ms_ = clock_.now_ms();
    ++counters_.ike_rekeys;
    crypto::secure_zero(rekey_ni_, sizeof rekey_ni_);
}

}  // namespace tv::vpn::ike
