// Adding a card slot: host only, as it needs mbedTLS's RSA public-key operation, which the
// monitor never runs (it unlocks with the card's raw RSA result, crypto/keyslot_card.cpp).
#include <mbedtls/rsa.h>
#include <string.h>

#include "crypto/keyslot_card.hpp"
#include "crypto/rsa_oaep.hpp"
#include "crypto/secure_zero.hpp"

namespace tv::crypto {

namespace {

class Rsa final {
  public:
    Rsa() { mbedtls_rsa_init(&ctx_, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256); }
    ~Rsa() { mbedtls_rsa_free(&ctx_); }
    Rsa(Rsa const&) = delete;
    Rsa& operator=(Rsa const&) = delete;

    // The modulus length in bytes, or 0 if the key is unusable.
    [[nodiscard]] u64 load(KsRsaPublicKey const& pub) {
        if (pub.n == nullptr || pub.e == nullptr ||
            mbedtls_rsa_import_raw(&ctx_, pub.n, pub.n_len, nullptr, 0, nullptr, 0, nullptr, 0,
                                   pub.e, pub.e_len) != 0 ||
            mbedtls_rsa_complete(&ctx_) != 0 || mbedtls_rsa_check_pubkey(&ctx_) != 0)
            return 0;
        return mbedtls_rsa_get_len(&ctx_);
    }
    [[nodiscard]] bool public_op(u8 const* in, u8* out) {
        return mbedtls_rsa_public(&ctx_, in, out) == 0;
    }

  private:
    mbedtls_rsa_context ctx_;
};

KsError pick_slot(Keyslots const& ks, u32& slot) {
    if (slot == kKsAnySlot) {
        for (slot = 0; slot < kKsSlots && ks.slots[slot].active(); ++slot) {
        }
        return slot == kKsSlots ? KsError::NoFreeSlot : KsError::Ok;
    }
    if (slot >= kKsSlots)
        return KsError::SlotOutOfRange;
    return ks.slots[slot].active() ? KsError::SlotInUse : KsError::Ok;
}

bool card_fields_valid(KsCard const& c) {
    return c.kind == KsCardKind::Cac && c.cert_index <= kKsCardMaxCertIndex &&
           c.serial_len >= 1 && c.serial_len <= kKsCardSerialBytes;
}

}  // namespace

KsError ks_add_card(Keyslots& ks, MasterKey const& mk, KsCard const& card, KsRsaPublicKey const& pub,
                    Random const& rng, u32 slot, u32* used) {
    if (!card_fields_valid(card))
        return KsError::BadArgument;
    if (KsError const e = pick_slot(ks, slot); e != KsError::Ok)
        return e;
    if (KsError const e = ks_check_master_key(ks, mk); e != KsError::Ok)
        return e;
    Rsa rsa;
    u64 const k = rsa.load(pub);
    if (k < kKsCardMinRsaBytes || k > kKsCardMaxRsaBytes)
        return KsError::BadArgument;
    KsSlot s;
    s.type = KsSlotType::Card;
    s.wrap = KsWrap::RsaOaepSha256;
    s.card = card;
    s.card.rsa_bytes = static_cast<u32>(k);
    s.card.subject[kKsCardSubjectBytes] = '\0';
    memset(s.card.ciphertext, 0, sizeof s.card.ciphertext);
    u8 label[kKsCardOaepLabelBytes];
    ks_card_oaep_label(ks, slot, s, label);
    u8 seed[kOaepHashBytes];
    u8 em[kKsCardMaxRsaBytes];
    if (!rng(seed, sizeof seed))
        return KsError::RandomFailed;
    bool const ok = oaep_encode_sha256(mk.bytes, sizeof mk.bytes, label, sizeof label, seed, em, k) &&
                    rsa.public_op(em, s.card.ciphertext);
    secure_zero(seed, sizeof seed);
    secure_zero(em, sizeof em);
    if (!ok)
        return KsError::CryptoFailed;
    ks.slots[slot] = s;
    if (used != nullptr)
        *used = slot;
    return KsError::Ok;
}

}  // namespace tv::crypto
