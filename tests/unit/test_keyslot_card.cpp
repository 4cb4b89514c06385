// Card keyslots (crypto/keyslot_card.*, the card slot in crypto/keyslot_format.*): the
// master key RSA-OAEP-wrapped to a card's key, unlocked from the card's raw RSA result.
// The "card" here is mbedTLS's private-key operation with the test key of test_oaep.
#include <gtest/gtest.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <string.h>

#include "crypto/keyslot_card.hpp"
#include "tests/unit/prng.hpp"
#include "tests/unit/test_keyslot_util.hpp"
#include "tests/unit/test_oaep_vectors.hpp"

using namespace tv;
using namespace tv::crypto;
using namespace tv::crypto::test_util;

namespace {

int prng_fill(void* ctx, unsigned char* out, size_t n) {
    auto* prng = static_cast<test::Prng*>(ctx);
    for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<unsigned char>(prng->next());
    return 0;
}

// A fake card: the public half for enrolling, the raw private operation for unlocking.
class FakeCard {
  public:
    FakeCard() {
        mbedtls_pk_init(&pk_);
        if (mbedtls_pk_parse_key(&pk_, reinterpret_cast<u8 const*>(oaep_vectors::kKeyPem),
                                 sizeof oaep_vectors::kKeyPem, nullptr, 0) != 0 ||
            mbedtls_rsa_export_raw(mbedtls_pk_rsa(pk_), n_, sizeof n_, nullptr, 0, nullptr, 0,
                                   nullptr, 0, e_, sizeof e_) != 0)
            abort();
    }
    ~FakeCard() { mbedtls_pk_free(&pk_); }
    KsRsaPublicKey pub() const { return {n_, sizeof n_, e_, sizeof e_}; }
    // The CAC applet's instruction 0x42: raw RSA with the private key.
    bool raw(u8 const* in, u8* out) {
        test::Prng prng{3};
        return mbedtls_rsa_private(mbedtls_pk_rsa(pk_), prng_fill, &prng, in, out) == 0;
    }

  private:
    mbedtls_pk_context pk_;
    u8 n_[256]{};
    u8 e_[4]{};
};

KsCard card_fields(u8 hash_byte = 0x11) {
    KsCard c;
    memset(c.cert_sha256, hash_byte, sizeof c.cert_sha256);
    c.kind = KsCardKind::Cac;
    c.cert_index = 0;
    c.serial_len = 3;
    c.serial[0] = 0x01;
    c.serial[1] = 0x02;
    c.serial[2] = 0x03;
    strcpy(c.subject, "thinvisor test card");
    return c;
}

// Enrolls the fake card into a fresh key set with passphrase "pw" in slot 0.
struct CardSet : KeySet {
    FakeCard card;
    u32 slot{kKsSlots};
    CardSet() : KeySet{"pw"} {
        TestRandom rng{7};
        if (ks_add_card(ks, mk, card_fields(), card.pub(), rng.get(), kKsAnySlot, &slot) != KsError::Ok)
            abort();
    }
    KsError unlock(Keyslots const& k, u32 s, MasterKey& out) {
        u8 em[256];
        if (!card.raw(k.slots[s].card.ciphertext, em))
            return KsError::CryptoFailed;
        return ks_unlock_card(k, s, em, sizeof em, out);
    }
};

Keyslots reparse(KsFileDisk& f) {
    fix_crc(f);
    Keyslots k;
    EXPECT_EQ(KsError::Ok, parse_keyslots(reinterpret_cast<u8 const*>(&f), sizeof f, k));
    return k;
}

}  // namespace

TEST(KeyslotCard, TheCardsRawResultUnlocksTheMasterKey) {
    CardSet s;
    EXPECT_EQ(s.slot, 1u);
    EXPECT_EQ(s.ks.slots[1].card.rsa_bytes, 256u);
    MasterKey out;
    ASSERT_EQ(KsError::Ok, s.unlock(s.ks, s.slot, out));
    EXPECT_EQ(0, memcmp(out.bytes, s.mk.bytes, sizeof out.bytes));
}

TEST(KeyslotCard, SlotSurvivesSerializeAndParse) {
    CardSet s;
    KsFileDisk f = s.file();
    Keyslots k;
    ASSERT_EQ(KsError::Ok, parse_keyslots(reinterpret_cast<u8 const*>(&f), sizeof f, k));
    KsCard const& c = k.slots[s.slot].card;
    EXPECT_STREQ(c.subject, "thinvisor test card");
    EXPECT_EQ(c.serial_len, 3);
    EXPECT_EQ(0, memcmp(c.ciphertext, s.ks.slots[s.slot].card.ciphertext, 256));
    KsFileDisk again;
    serialize_keyslots(k, again);
    EXPECT_EQ(0, memcmp(&again, &f, sizeof f));
    MasterKey out;
    EXPECT_EQ(KsError::Ok, s.unlock(k, s.slot, out));
}

TEST(KeyslotCard, PassphraseAndCardSlotsCoexistAndEitherUnlocks) {
    CardSet s;
    TestRandom rng{8};
    ASSERT_EQ(KsError::Ok, ks_add_card(s.ks, s.mk, card_fields(0x22), s.card.pub(), rng.get()));
    MasterKey a;
    u32 opened = kKsSlots;
    ASSERT_EQ(KsError::Ok, ks_unlock(s.ks, bytes("pw"), 2, a, &opened));  // card slots skipped
    EXPECT_EQ(opened, 0u);
    EXPECT_EQ(KsError::WrongPassphrase, ks_unlock(s.ks, bytes("px"), 2, a));
    EXPECT_EQ(KsError::WrongSlotType, ks_unlock_slot(s.ks, 1, bytes("pw"), 2, a));
    ASSERT_EQ(KsError::Ok, ks_remove_slot(s.ks, 0));
    MasterKey b;
    ASSERT_EQ(KsError::Ok, s.unlock(s.ks, 2, b));
    EXPECT_EQ(0, memcmp(b.bytes, s.mk.bytes, sizeof b.bytes));
}

TEST(KeyslotCard, SlotsAreFoundByCertificateHash) {
    CardSet s;
    TestRandom rng{8};
    ASSERT_EQ(KsError::Ok, ks_add_card(s.ks, s.mk, card_fields(0x22), s.card.pub(), rng.get()));
    u8 h[32];
    memset(h, 0x22, sizeof h);
    EXPECT_EQ(ks_card_slots_for(s.ks, h), 1u << 2);
    memset(h, 0x11, sizeof h);
    EXPECT_EQ(ks_card_slots_for(s.ks, h), 1u << 1);
    memset(h, 0x33, sizeof h);
    EXPECT_EQ(ks_card_slots_for(s.ks, h), 0u);
}

TEST(KeyslotCard, ASlotMovedToAnotherIndexIsWrongCard) {
    CardSet s;
    KsFileDisk f = s.file();
    f.slots[5] = f.slots[s.slot];
    Keyslots k = reparse(f);
    MasterKey out;
    EXPECT_EQ(KsError::WrongCard, s.unlock(k, 5, out));
    EXPECT_EQ(KsError::Ok, s.unlock(k, s.slot, out));
}

TEST(KeyslotCard, EditedCardFieldsAreWrongCard) {
    CardSet s;
    KsFileDisk f = s.file();
    auto* card = reinterpret_cast<KsCardDisk*>(f.slots[s.slot].type_data);
    card->subject[0] = 'T';
    Keyslots k = reparse(f);
    MasterKey out;
    EXPECT_EQ(KsError::WrongCard, s.unlock(k, s.slot, out));
    EXPECT_EQ(std::string(64, '\0'), std::string(reinterpret_cast<char*>(out.bytes), 64));
}

TEST(KeyslotCard, AnotherFilesSlotIsWrongCard) {
    CardSet s;
    KeySet other{"pw", 512, 99};  // another uuid and master key
    KsFileDisk f = other.file();
    f.slots[s.slot] = s.file().slots[s.slot];
    Keyslots k = reparse(f);
    MasterKey out;
    EXPECT_EQ(KsError::WrongCard, s.unlock(k, s.slot, out));
}

TEST(KeyslotCard, AnotherCardsAnswerIsWrongCard) {
    CardSet s;
    u8 em[256];
    test::Prng prng{4};
    for (auto& b : em)
        b = static_cast<u8>(prng.next());
    em[0] = 0;
    MasterKey out;
    EXPECT_EQ(KsError::WrongCard, ks_unlock_card(s.ks, s.slot, em, sizeof em, out));
    EXPECT_EQ(KsError::WrongCard, ks_unlock_card(s.ks, s.slot, em, 255, out));
    EXPECT_EQ(KsError::WrongSlotType, ks_unlock_card(s.ks, 0, em, sizeof em, out));
    EXPECT_EQ(KsError::SlotEmpty, ks_unlock_card(s.ks, 3, em, sizeof em, out));
}

TEST(KeyslotCard, AddRefusesAWrongMasterKeyAndBadFields) {
    CardSet s;
    TestRandom rng{8};
    MasterKey wrong;
    EXPECT_EQ(KsError::HeaderMismatch, ks_add_card(s.ks, wrong, card_fields(), s.card.pub(), rng.get()));
    KsCard c = card_fields();
    c.serial_len = 0;
    EXPECT_EQ(KsError::BadArgument, ks_add_card(s.ks, s.mk, c, s.card.pub(), rng.get()));
    u8 const small_n[64] = {0xc1, 0x01};
    u8 const e[] = {1, 0, 1};
    EXPECT_EQ(KsError::BadArgument,
              ks_add_card(s.ks, s.mk, card_fields(), {small_n, sizeof small_n, e, sizeof e}, rng.get()));
    EXPECT_EQ(KsError::SlotInUse, ks_add_card(s.ks, s.mk, card_fields(), s.card.pub(), rng.get(), 1));
}

namespace {

// The parser's verdict on the card slot after edit() changed its raw bytes.
template <typename Edit>
KsError parse_edited(Edit edit) {
    CardSet s;
    KsFileDisk f = s.file();
    edit(f.slots[s.slot], *reinterpret_cast<KsCardDisk*>(f.slots[s.slot].type_data));
    fix_crc(f);
    Keyslots k;
    u32 bad = kKsSlots;
    KsError const e = parse_keyslots(reinterpret_cast<u8 const*>(&f), sizeof f, k, &bad);
    if (e == KsError::BadSlot) {
        EXPECT_EQ(bad, s.slot);
    }
    return e;
}

}  // namespace

TEST(KeyslotCard, ParserRefusesMalformedCardSlots) {
    using D = KsSlotDisk;
    using C = KsCardDisk;
    EXPECT_EQ(KsError::Ok, parse_edited([](D&, C&) {}));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D& d, C&) { d.iterations.set(1000); }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D& d, C&) { d.kdf.set(1); }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D& d, C&) { d.wrap.set(1); }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D& d, C&) { d.salt[3] = 1; }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D& d, C&) { d.tag[15] = 1; }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D& d, C&) { d.flags.set(1); }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.rsa_bytes.set(129); }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.rsa_bytes.set(257); }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.card_kind = 2; }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.cert_index = 16; }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.serial_len = 0; }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.serial_len = 21; }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.serial[10] = 1; }));  // past serial_len
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.reserved0[1] = 1; }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.subject[40] = 'x'; }));  // after the NUL
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) { c.reserved1[3] = 1; }));
    EXPECT_EQ(KsError::BadSlot, parse_edited([](D&, C& c) {
                  c.rsa_bytes.set(200);  // the ciphertext's tail is then past rsa_bytes
              }));
    EXPECT_EQ(KsError::Ok, parse_edited([](D&, C& c) { c.cert_index = 2; }));
}
