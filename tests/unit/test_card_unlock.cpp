// The boot-time card unlock (card/card_unlock.*) on the whole pure stack: CacCard over the
// CCID reader fake over the libcacard fake, with key sets enrolled for the fake card's key.
#include <gtest/gtest.h>
#include <mbedtls/sha256.h>
#include <string.h>

#include <deque>
#include <string>

#include "card/cac.hpp"
#include "card/card_unlock.hpp"
#include "crypto/keyslot_card.hpp"
#include "tests/unit/test_card_piv_fake.hpp"
#include "tests/unit/test_ccid_fakes.hpp"
#include "tests/unit/test_keyslot_util.hpp"

using namespace tv;
using namespace tv::card;
using namespace tv::card::test;
using namespace tv::crypto;
using namespace tv::crypto::test_util;

namespace {

class ScriptedConsole final : public UnlockConsole {
  public:
    std::deque<std::string> pins;
    std::vector<std::string> prompts, lines;
    u32 read_pin(char const* prompt, u8* pin, u32 cap) override {
        prompts.emplace_back(prompt);
        if (pins.empty())
            return 0;
        std::string const p = pins.front();
        pins.pop_front();
        u32 const n = static_cast<u32>(std::min<size_t>(p.size(), cap));
        memcpy(pin, p.data(), n);
        return n;
    }
    void say(char const* line) override { lines.emplace_back(line); }
};

// Adds a card slot for the key whose certificate is `cert` and whose RSA key is rsa.
void enroll_card_key(KeySet& set, Bytes const& cert, mbedtls_rsa_context* rsa, u32 index) {
    KsCard c;
    EXPECT_EQ(0, mbedtls_sha256_ret(cert.data(), cert.size(), c.cert_sha256, 0));
    c.cert_index = static_cast<u8>(index);
    c.serial_len = 1;
    c.serial[0] = 1;
    u8 n[256], e[4];
    EXPECT_EQ(0, mbedtls_rsa_export_raw(rsa, n, sizeof n, nullptr, 0, nullptr, 0, nullptr, 0, e, sizeof e));
    TestRandom rng{5};
    EXPECT_EQ(KsError::Ok, ks_add_card(set.ks, set.mk, c, {n, sizeof n, e, sizeof e}, rng.get()));
}

struct Rig {
    FakeCac card;
    FakeReaderPipe pipe{card};
    CcidReader reader{pipe};
    ApduChannel channel{reader, true};
    CacCard cac{channel};
    KeySet set{"pw"};
    ScriptedConsole con;

    // Enrolls the card's key `key` (its certificate's hash) with the fake card's RSA key.
    void enroll(u32 key, u8 tweak = 0) {
        Bytes cert = card.certs[key];
        cert[0] = static_cast<u8>(cert[0] ^ tweak);
        enroll_card_key(set, cert, card.rsa(), key);
        u8 atr[64];
        u32 len = 0;
        EXPECT_EQ(reader.power_on(atr, sizeof atr, len), ReaderResult::Ok);
    }
    CardUnlockResult unlock(MasterKey& mk, u32& slot, u32 tries = 3) {
        CardUnlockParams p;
        p.disk_name = "system";
        p.pin_tries = tries;
        return card_unlock(cac, set.ks, con, p, mk, slot);
    }
};

// Whether `what` appears anywhere in the bytes of `obj` (a buffer a secret passed through).
template <class T>
bool holds(T const& obj, u8 const* what, size_t n) {
    u8 const* p = reinterpret_cast<u8 const*>(&obj);
    for (size_t i = 0; i + n <= sizeof obj; ++i)
        if (memcmp(p + i, what, n) == 0)
            return true;
    return false;
}

bool any_contains(std::vector<std::string> const& v, std::string const& what) {
    for (auto const& s : v)
        if (s.find(what) != std::string::npos)
            return true;
    return false;
}

}  // namespace

TEST(CardUnlock, TheEnrolledKeyAndItsPinOpenTheDisk) {
    Rig r;
    r.enroll(1);
    r.con.pins = {"123456"};
    MasterKey mk;
    u32 slot = 99;
    ASSERT_EQ(r.unlock(mk, slot), CardUnlockResult::Ok);
    EXPECT_EQ(slot, 1u);
    EXPECT_EQ(0, memcmp(mk.bytes, r.set.mk.bytes, sizeof mk.bytes));
    ASSERT_EQ(r.con.prompts.size(), 1u);
    EXPECT_EQ(r.con.prompts[0], "thinvisor: PIN of the card for disk 'system' (3 tries left): ");
}

TEST(CardUnlock, AWrongPinIsSaidAndAskedAgain) {
    Rig r;
    r.enroll(0);
    r.con.pins = {"111111", "123456"};
    MasterKey mk;
    u32 slot = 0;
    ASSERT_EQ(r.unlock(mk, slot), CardUnlockResult::Ok);
    EXPECT_EQ(r.con.lines, (std::vector<std::string>{"thinvisor: wrong PIN"}));
    ASSERT_EQ(r.con.prompts.size(), 2u);
    EXPECT_NE(r.con.prompts[1].find("(2 tries left)"), std::string::npos);
    for (auto const& s : r.con.prompts)
        EXPECT_EQ(s.find("111111"), std::string::npos);
}

TEST(CardUnlock, TheCardsOwnCountIsShownWhenItReportsOne) {
    Rig r;
    r.enroll(2);
    r.card.tries_reported = 5;
    r.con.pins = {"111111", "123456"};
    MasterKey mk;
    u32 slot = 0;
    ASSERT_EQ(r.unlock(mk, slot), CardUnlockResult::Ok);
    EXPECT_TRUE(any_contains(r.con.prompts, "the card allows 5"));
    EXPECT_EQ(r.con.lines, (std::vector<std::string>{"thinvisor: wrong PIN (the card allows 4 more)"}));
    EXPECT_TRUE(any_contains(r.con.prompts, "the card allows 4"));
}

TEST(CardUnlock, OurLimitEndsTheTries) {
    Rig r;
    r.enroll(0);
    r.con.pins = {"1", "2", "3", "123456"};
    MasterKey mk;
    u32 slot = 0;
    EXPECT_EQ(r.unlock(mk, slot), CardUnlockResult::TooManyWrongPins);
    EXPECT_EQ(r.con.pins.size(), 1u);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(mk.bytes), 64), std::string(64, '\0'));
}

TEST(CardUnlock, ACardTheCardBlocksStopsAtOnce) {
    Rig r;
    r.enroll(0);
    r.card.tries_reported = 1;
    r.con.pins = {"1", "123456"};
    MasterKey mk;
    u32 slot = 0;
    EXPECT_EQ(r.unlock(mk, slot), CardUnlockResult::PinBlocked);
}

TEST(CardUnlock, ACardThatIsNotEnrolledIsRefusedWithoutAPin) {
    Rig r;
    r.enroll(0, 0x01);  // the slot names another certificate
    r.con.pins = {"123456"};
    MasterKey mk;
    u32 slot = 0;
    EXPECT_EQ(r.unlock(mk, slot), CardUnlockResult::NotEnrolled);
    EXPECT_TRUE(r.con.prompts.empty());
}

TEST(CardUnlock, AnAnswerThatDoesNotOpenTheSlotIsRefused) {
    Rig r;
    r.enroll(0);
    r.set.ks.slots[1].card.ciphertext[100] ^= 1;
    r.con.pins = {"123456"};
    MasterKey mk;
    u32 slot = 0;
    EXPECT_EQ(r.unlock(mk, slot), CardUnlockResult::KeyRefused);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(mk.bytes), 64), std::string(64, '\0'));
}

TEST(CardUnlock, ACardPulledOutFails) {
    Rig r;
    r.enroll(0);
    r.pipe.present = false;
    r.con.pins = {"123456"};
    MasterKey mk;
    u32 slot = 0;
    EXPECT_EQ(r.unlock(mk, slot), CardUnlockResult::CardFailed);
}

TEST(CardUnlock, AnEmptyOrTooLongPinIsSaidAndNeverReachesTheCard) {
    Rig r;
    r.enroll(0);
    r.con.pins = {"", "123456789", "123456"};
    MasterKey mk;
    u32 slot = 0;
    ASSERT_EQ(r.unlock(mk, slot), CardUnlockResult::Ok);
    EXPECT_EQ(r.con.lines, (std::vector<std::string>{"thinvisor: no PIN was typed (the card was not asked)",
                                                    "thinvisor: the PIN is longer than 8 characters (the card was not asked)"}));
    u32 verifies = 0;
    for (auto const& c : r.card.commands)
        verifies += c.size() > 5 && c[1] == 0x20 ? 1 : 0;  // VERIFY with data
    EXPECT_EQ(verifies, 1u) << "an empty or too long PIN went to the card";
    EXPECT_NE(r.con.prompts[2].find("(1 tries left)"), std::string::npos) << "each still costs one of our tries";
}

// Issue 17's secrecy: the PIN, the card's raw RSA result and the unwrapped key pass through the
// reader's CCID buffers, the APDU channel's buffers and the CAC card; none of them holds any of
// the three once the unlock returns, whether it opened the disk or ran out of tries.
TEST(CardUnlock, NoBufferOfTheStackHoldsThePinTheCardsResultOrTheKeyAfterwards) {
    Rig r;
    r.enroll(1);
    r.con.pins = {"654321", "123456"};
    MasterKey mk;
    u32 slot = 0;
    ASSERT_EQ(r.unlock(mk, slot), CardUnlockResult::Ok);
    ASSERT_EQ(r.card.last_result.size(), 256u);
    u8 const* em = r.card.last_result.data() + 1;  // past the leading 00: the masked seed and block
    for (char const* pin : {"123456", "654321"}) {
        u8 const* p = reinterpret_cast<u8 const*>(pin);
        EXPECT_FALSE(holds(r.reader, p, 6)) << "the CCID reader's buffers hold PIN " << pin;
        EXPECT_FALSE(holds(r.channel, p, 6)) << "the APDU channel holds PIN " << pin;
        EXPECT_FALSE(holds(r.cac, p, 6)) << "the CAC card holds PIN " << pin;
    }
    for (u32 at : {0u, 100u, 200u}) {  // any 32 bytes of the result
        EXPECT_FALSE(holds(r.reader, em + at, 32)) << "the CCID reader's buffers hold the card's result";
        EXPECT_FALSE(holds(r.channel, em + at, 32)) << "the APDU channel holds the card's result";
        EXPECT_FALSE(holds(r.cac, em + at, 32)) << "the CAC card holds the card's result";
    }
    EXPECT_FALSE(holds(r.reader, mk.bytes, 32) || holds(r.channel, mk.bytes, 32) || holds(r.cac, mk.bytes, 32));
    // Out of tries: the last wrong PIN is gone too.
    Rig w;
    w.enroll(0);
    w.con.pins = {"777777", "888888", "999999"};
    EXPECT_EQ(w.unlock(mk, slot), CardUnlockResult::TooManyWrongPins);
    for (char const* pin : {"777777", "888888", "999999"}) {
        u8 const* p = reinterpret_cast<u8 const*>(pin);
        EXPECT_FALSE(holds(w.reader, p, 6) || holds(w.channel, p, 6) || holds(w.cac, p, 6)) << "PIN " << pin << " is left";
    }
}

// The Card seam takes a second card type (issue 17: "a PIV card ... fits later"): a PIV-shaped
// card (one applet, key references, GET DATA objects, GENERAL AUTHENTICATE with command
// chaining, tests/unit/test_card_piv_fake.hpp) behind the same reader and APDU channel opens
// the disk through the unchanged card_unlock, with its own PIN counter shown and spent.
TEST(CardUnlock, ASecondCardTypeOpensTheDiskThroughTheSameInterface) {
    FakeCac key_holder;  // only for test_oaep's RSA key
    FakePivApplet piv{key_holder.rsa()};
    ApduChannel channel{piv, true};
    MiniPiv card{channel};
    KeySet set{"pw"};
    enroll_card_key(set, piv.cert, key_holder.rsa(), 2);  // key 9D, the third reference
    ScriptedConsole con;
    con.pins = {"11111111", "24680135"};
    CardUnlockParams p;
    p.disk_name = "system";
    p.pin_tries = 3;
    MasterKey mk;
    u32 slot = 0;
    ASSERT_EQ(card_unlock(card, set.ks, con, p, mk, slot), CardUnlockResult::Ok);
    EXPECT_EQ(slot, 1u);
    EXPECT_EQ(0, memcmp(mk.bytes, set.mk.bytes, sizeof mk.bytes));
    EXPECT_EQ(piv.general_authenticates, 1u);
    EXPECT_EQ(piv.chained_commands, 1u) << "the RSA operation was not one GENERAL AUTHENTICATE in two chained parts";
    ASSERT_EQ(con.prompts.size(), 2u);
    EXPECT_NE(con.prompts[0].find("the card allows 3"), std::string::npos) << con.prompts[0];
    EXPECT_EQ(con.lines, (std::vector<std::string>{"thinvisor: wrong PIN (the card allows 2 more)"}));
    EXPECT_EQ(piv.tries, 3) << "the right PIN did not reset the card's counter";
}
