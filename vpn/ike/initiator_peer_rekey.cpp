// The gateway rekeying our child SA (its CREATE_CHILD_SA request, RFC 7296 §1.3.3): we answer
// as the responder of that exchange with a new SPI and nonce, for a proposal of its offer we
// accept, and its selectors echoed. The gateway is the initiator here, so the first half of
// KEYMAT protects what it sends us. The old pair stays until the gateway deletes it.
//
// And the gateway rekeying the IKE SA (§1.3.2, §2.18): our SPI, nonce and key share for the
// first acceptable proposal of its offer, in the group of its KE; the new SA is used once the
// answer is out, with the gateway as its original initiator.
//
// A rekey of either while one of ours is in flight (a collision, §2.8.1) is answered with
// TEMPORARY_FAILURE (§2.25): ours completes, the gateway retries later and finds it done; so
// there is never a redundant SA to delete. The nonce rule is not needed, nor implemented.
#include "crypto/secure_zero.hpp"
#include "vpn/ike/initiator.hpp"

namespace tv::vpn::ike {

namespace {

void echo_payload(ChainBuilder& in, Payload type, u8 const* body, size_t len) {
    size_t const p = in.begin(type);
    in.w().bytes(body, len);
    in.end(p);
}

}  // namespace

void Initiator::answer_child_rekey(PayloadList const& inner, u8 const* base, ChainBuilder& out) {
    PayloadRef const* sa = inner.find(Payload::SA);
    PayloadRef const* ni = inner.find(Payload::Nonce);
    PayloadRef const* tsi = inner.find(Payload::TSi);
    PayloadRef const* tsr = inner.find(Payload::TSr);
    u32 rekeyed = 0;
    for (u8 i = 0; i < inner.count; ++i) {
        Notify n{};
        if (inner.item[i].type == static_cast<u8>(Payload::Notify) &&
            decode_notify(base + inner.item[i].off, inner.item[i].len, n) == ParseError::Ok &&
            n.type == notify::kRekeySa && n.proto == static_cast<u8>(Protocol::Esp) &&
            n.spi_len == 4)
            rekeyed = get32(n.spi);
    }
    Chosen c{};
    bool found = false;
    u16 error = 0;
    if (req_open_ && pending_ == Pending::RekeyChild)
        error = notify::kTemporaryFailure;  // a collision: ours goes on, the gateway retries
    else if (rekeyed == 0 || old_child_)
        error = notify::kNoAdditionalSas;  // a second child SA, or a rekey while one is under way
    else if (rekeyed != child_spi_out_)
        error = notify::kChildSaNotFound;
    else if (sa == nullptr || ni == nullptr || tsi == nullptr || tsr == nullptr ||
             decode_nonce(base + ni->off, ni->len) != ParseError::Ok)
        error = notify::kInvalidSyntax;
    else if (inner.find(Payload::KE) != nullptr ||
             select_esp_proposal(base + sa->off, sa->len, cfg_.key_bits, c, found) !=
                 ParseError::Ok ||
             !found)
        error = notify::kNoProposalChosen;  // includes PFS: this initiator offers none
    u8 spi[4], nr[32];
    if (error == 0 && (!rng_(spi, sizeof spi) || !rng_(nr, sizeof nr)))
        error = notify::kTemporaryFailure;
    ChildKeys k{};
    if (error == 0 && !derive_child_keys(keys_.sk_d, base + ni->off, ni->len, nr, sizeof nr,
                                         static_cast<u8>(c.key_bits / 8), k))
        error = notify::kTemporaryFailure;
    if (error != 0) {
        log("ike: refused the gateway's CREATE_CHILD_SA (notify %u)", error);
        add_notify(out, Protocol::None, error, nullptr, 0);
        return;
    }
    u32 const new_in = get32(spi) | 0x100;
    add_sa(out, Offer{Protocol::Esp, new_in, {c.key_bits, 0}, {}});
    add_nonce(out, nr, sizeof nr);
    echo_payload(out, Payload::TSi, base + tsi->off, tsi->len);
    echo_payload(out, Payload::TSr, base + tsr->off, tsr->len);
    old_child_ = true;
    old_spi_in_ = child_spi_in_;
    old_spi_out_ = child_spi_out_;
    child_spi_in_ = new_in;
    child_spi_out_ = get32(c.spi);
    ChildSa child = child_;
    child.spi_in = child_spi_in_;
    child.spi_out = child_spi_out_;
    child.keys.i_to_r = k.r_to_i;  // ours to send: the responder's half
    child.keys.r_to_i = k.i_to_r;
    k.wipe();
    child_since_ms_ = clock_.now_ms();
    child_rekey_asked_ = false;
    ++counters_.child_rekeys;
    log("ike: the gateway rekeyed the child SA: ESP in %08x out %08x (was %08x/%08x)",
        child_spi_in_, child_spi_out_, old_spi_in_, old_spi_out_);
    child.hard_lifetime_s = static_cast<u32>(hard_lifetime_ms(cfg_.child_rekey_ms) / 1000);
    ev_.child_up(child);
    child.keys.wipe();
    child_ = child;
    crypto::secure_zero(nr, sizeof nr);
}

void Initiator::answer_ike_rekey(PayloadList const& inner, u8 const* base, ChainBuilder& out) {
    PayloadRef const* sa = inner.find(Payload::SA);
    PayloadRef const* ni = inner.find(Payload::Nonce);
    PayloadRef const* ke = inner.find(Payload::KE);
    u16 g = 0;
    u8 const* kd = nullptr;
    size_t kl = 0;
    Chosen c{};
    bool found = false;
    u16 error = 0;
    if (req_open_ || switch_pending_ || old_child_)
        error = notify::kTemporaryFailure;  // a collision, or another exchange under way
    else if (sa == nullptr || ni == nullptr || ke == nullptr ||
             decode_nonce(base + ni->off, ni->len) != ParseError::Ok ||
             decode_ke(base + ke->off, ke->len, g, kd, kl) != ParseError::Ok)
        error = notify::kInvalidSyntax;
    else if (!dh_supported(g) ||
             select_ike_proposal(base + sa->off, sa->len, cfg_.key_bits, g, c, found) !=
                 ParseError::Ok ||
             !found)
        error = notify::kNoProposalChosen;
    u8 spi[8], nr[32], pub[kMaxKeBytes], gir[256];
    bool const dh_ours = error == 0;  // else dh_ may hold our own rekey's share: leave it
    if (error == 0 && (!rng_(spi, sizeof spi) || !rng_(nr, sizeof nr) ||
                       !dh_.start(g, rng_, pub, sizeof pub) || !dh_.finish(kd, kl, gir, sizeof gir)))
        error = notify::kInvalidSyntax;  // mostly: its public value is not one of the group
    u64 const mine = get64(spi) | 1;
    IkeKeys next{};
    if (error == 0 &&
        !derive_ike_keys(base + ni->off, ni->len, nr, sizeof nr, gir, dh_.secret_len(),
                         get64(c.spi), mine, static_cast<u8>(c.key_bits / 8), next, keys_.sk_d))
        error = notify::kTemporaryFailure;
    crypto::secure_zero(gir, sizeof gir);
    if (error != 0) {
        if (dh_ours)
            dh_.clear();
        next.wipe();
        log("ike: refused the gateway's IKE SA rekey (notify %u)", error);
        add_notify(out, Protocol::None, error, nullptr, 0);
        return;
    }
    add_sa(out, Offer{Protocol::Ike, mine, {c.key_bits, 0}, {g, 0, 0}});
    add_nonce(out, nr, sizeof nr);
    add_ke(out, g, pub, dh_public_len(g));
    dh_.clear();
    crypto::secure_zero(pub, sizeof pub);
    crypto::secure_zero(nr, sizeof nr);
    group_ = g;
    key_len_ = static_cast<u8>(c.key_bits / 8);
    switch_pending_ = true;
    sw_spi_i_ = get64(c.spi);
    sw_spi_r_ = mine;
    sw_keys_ = next;
    next.wipe();
    log("ike: the gateway rekeys the IKE SA (DH group %u)", g);
}

}  // namespace tv::vpn::ike
