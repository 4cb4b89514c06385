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
        KsCard c;
        EXPECT_EQ(0, mbedtls_sha256_ret(cert.data(), cert.size(), c.cert_sha256, 0));
        c.cert_index = static_cast<u8>(key);
        c.serial_len = 1;
        c.serial[0] = 1;
        u8 n[256], e[4];
        EXPECT_EQ(0, mbedtls_rsa_export_raw(card.rsa(), n, sizeof n, nullptr, 0, nullptr, 0, nullptr, 0, e, sizeof e));
        TestRandom rng{5};
        EXPECT_EQ(KsError::Ok, ks_add_card(set.ks, set.mk, c, {n, sizeof n, e, sizeof e}, rng.get()));
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
