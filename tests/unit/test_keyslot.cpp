// Keyslot operations: creating a key set, adding and removing passphrases, unlocking, and the
// ways a slot or header that was tampered with fails. Plus the KDF/MAC known answers.
#include <gtest/gtest.h>
#include <string.h>

#include <string>
#include <vector>

#include "crypto/crc32.hpp"
#include "crypto/kdf.hpp"
#include "crypto/keyslot.hpp"
#include "crypto/secure_zero.hpp"
#include "tests/unit/test_keyslot_util.hpp"

using namespace tv;
using namespace tv::crypto;
using namespace tv::crypto::test_util;

namespace {

bool same_key(MasterKey const& a, MasterKey const& b) {
    return memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0;
}

bool all_zero(MasterKey const& k) {
    for (u8 const b : k.bytes)
        if (b != 0)
            return false;
    return true;
}

// The file image of ks with one byte changed and the CRC made valid again: what a deliberate
// edit looks like (the CRC only catches accidents).
Keyslots edited(Keyslots const& ks, u64 offset, u8 value) {
    KsFileDisk f;
    serialize_keyslots(ks, f);
    auto* raw = reinterpret_cast<u8*>(&f);
    raw[offset] = value;
    fix_crc(f);
    Keyslots out;
    EXPECT_EQ(parse_keyslots(raw, sizeof f, out), KsError::Ok);
    return out;
}

TEST(KeyslotKdf, Pbkdf2Sha256MatchesRfc7914Section11) {
    // RFC 7914 section 11: PBKDF2-HMAC-SHA-256 (P="passwd", S="salt", c=1, dkLen=64).
    u8 const expect[64] = {
        0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44, 0xb6, 0x05,
        0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde, 0x04, 0x65, 0xe6, 0x8b, 0x9d, 0x57, 0xc2, 0x0d, 0xac, 0xbc,
        0x49, 0xca, 0x9c, 0xcc, 0xf1, 0x79, 0xb6, 0x45, 0x99, 0x16, 0x64, 0xb3, 0x9d, 0x77, 0xef, 0x31,
        0x7c, 0x71, 0xb8, 0x45, 0xb1, 0xe3, 0x0b, 0xd5, 0x09, 0x11, 0x20, 0x41, 0xd3, 0xa1, 0x97, 0x83};
    u8 out[64];
    ASSERT_TRUE(pbkdf2_sha256(bytes("passwd"), 6, bytes("salt"), 4, 1, out, sizeof out));
    EXPECT_EQ(0, memcmp(out, expect, sizeof out));
}

TEST(KeyslotKdf, HmacSha256MatchesRfc4231TestCase2) {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"; the data is
    // passed in two parts to cover the concatenation.
    u8 const expect[32] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                           0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                           0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    u8 out[32];
    std::string const data = "what do ya want for nothing?";
    ASSERT_TRUE(hmac_sha256(bytes("Jefe"), 4, bytes(data), 10, bytes(data) + 10, data.size() - 10, out));
    EXPECT_EQ(0, memcmp(out, expect, sizeof out));
}

TEST(Keyslot, RightPassphraseUnlocksTheMasterKey) {
    KeySet s{"correct horse"};
    MasterKey mk;
    u32 slot = 99;
    ASSERT_EQ(ks_unlock(s.ks, bytes("correct horse"), 13, mk, &slot), KsError::Ok);
    EXPECT_TRUE(same_key(mk, s.mk));
    EXPECT_EQ(slot, 0u);
}

TEST(Keyslot, WrongPassphraseIsRefusedAndLeavesNoKeyBehind) {
    KeySet s{"correct horse"};
    MasterKey mk;
    memset(mk.bytes, 0xEE, sizeof mk.bytes);
    EXPECT_EQ(ks_unlock(s.ks, bytes("correct horsE"), 13, mk), KsError::WrongPassphrase);
    EXPECT_TRUE(all_zero(mk));
    EXPECT_EQ(ks_unlock(s.ks, bytes(""), 0, mk), KsError::BadArgument);
}

TEST(Keyslot, FileRoundTripKeepsEverySlotOpenable) {
    KeySet s{"one"};
    TestRandom rng{2};
    ASSERT_EQ(ks_add_passphrase(s.ks, s.mk, bytes("two"), 3, kTestIterations + 1, rng.get()), KsError::Ok);
    KsFileDisk const f = s.file();
    Keyslots back;
    ASSERT_EQ(parse_keyslots(reinterpret_cast<u8 const*>(&f), sizeof f, back), KsError::Ok);
    EXPECT_EQ(back.active_slots(), 2u);
    EXPECT_EQ(back.slots[1].iterations, kTestIterations + 1);
    MasterKey a;
    MasterKey b;
    u32 slot = 0;
    ASSERT_EQ(ks_unlock(back, bytes("one"), 3, a, &slot), KsError::Ok);
    EXPECT_EQ(slot, 0u);
    ASSERT_EQ(ks_unlock(back, bytes("two"), 3, b, &slot), KsError::Ok);
    EXPECT_EQ(slot, 1u);
    EXPECT_TRUE(same_key(a, s.mk));
    EXPECT_TRUE(same_key(b, s.mk));
}

TEST(Keyslot, RemovedPassphraseNoLongerOpens) {
    KeySet s{"old"};
    TestRandom rng{3};
    ASSERT_EQ(ks_add_passphrase(s.ks, s.mk, bytes("new"), 3, kTestIterations, rng.get()), KsError::Ok);
    ASSERT_EQ(ks_remove_slot(s.ks, 0), KsError::Ok);
    MasterKey mk;
    EXPECT_EQ(ks_unlock(s.ks, bytes("old"), 3, mk), KsError::WrongPassphrase);
    EXPECT_EQ(ks_unlock(s.ks, bytes("new"), 3, mk), KsError::Ok);
    KsFileDisk const f = s.file();
    for (u8 const b : std::vector<u8>(reinterpret_cast<u8 const*>(&f.slots[0]),
                                      reinterpret_cast<u8 const*>(&f.slots[1])))
        ASSERT_EQ(b, 0) << "a removed slot leaves nothing on disk";
}

TEST(Keyslot, RefusesToRemoveTheLastSlot) {
    KeySet s{"only"};
    EXPECT_EQ(ks_remove_slot(s.ks, 0), KsError::LastSlot);
    EXPECT_EQ(ks_remove_slot(s.ks, 1), KsError::SlotEmpty);
    EXPECT_EQ(ks_remove_slot(s.ks, kKsSlots), KsError::SlotOutOfRange);
    EXPECT_EQ(s.ks.active_slots(), 1u);
}

TEST(Keyslot, FillsAllEightSlotsThenReportsNoFreeSlot) {
    KeySet s{"p0"};
    TestRandom rng{4};
    for (u32 i = 1; i < kKsSlots; ++i) {
        std::string const p = "p" + std::to_string(i);
        u32 used = 0;
        ASSERT_EQ(ks_add_passphrase(s.ks, s.mk, bytes(p), p.size(), kTestIterations, rng.get(),
                                    kKsAnySlot, &used),
                  KsError::Ok);
        EXPECT_EQ(used, i);
    }
    EXPECT_EQ(ks_add_passphrase(s.ks, s.mk, bytes("p8"), 2, kTestIterations, rng.get()), KsError::NoFreeSlot);
}

TEST(Keyslot, AddToAChosenSlotOnlyIfItIsFree) {
    KeySet s{"a"};
    TestRandom rng{5};
    EXPECT_EQ(ks_add_passphrase(s.ks, s.mk, bytes("b"), 1, kTestIterations, rng.get(), 0), KsError::SlotInUse);
    EXPECT_EQ(ks_add_passphrase(s.ks, s.mk, bytes("b"), 1, kTestIterations, rng.get(), kKsSlots),
              KsError::SlotOutOfRange);
    ASSERT_EQ(ks_add_passphrase(s.ks, s.mk, bytes("b"), 1, kTestIterations, rng.get(), 5), KsError::Ok);
    MasterKey mk;
    EXPECT_EQ(ks_unlock_slot(s.ks, 5, bytes("b"), 1, mk), KsError::Ok);
    EXPECT_EQ(ks_unlock_slot(s.ks, 0, bytes("b"), 1, mk), KsError::WrongPassphrase);
    EXPECT_EQ(ks_unlock_slot(s.ks, 3, bytes("b"), 1, mk), KsError::SlotEmpty);
}

TEST(Keyslot, NeverWrapsAKeyThatFailsTheCheckValue) {
    KeySet s{"a"};
    TestRandom rng{6};
    MasterKey wrong;
    memcpy(wrong.bytes, s.mk.bytes, sizeof wrong.bytes);
    wrong.bytes[17] ^= 1;
    EXPECT_EQ(ks_add_passphrase(s.ks, wrong, bytes("b"), 1, kTestIterations, rng.get()), KsError::HeaderMismatch);
    EXPECT_EQ(s.ks.active_slots(), 1u);
}

TEST(Keyslot, RefusesIterationCountsOutsideTheFormatsRange) {
    KeySet s{"a"};
    TestRandom rng{7};
    EXPECT_EQ(ks_add_passphrase(s.ks, s.mk, bytes("b"), 1, kKsMinIterations - 1, rng.get()), KsError::BadArgument);
    EXPECT_EQ(ks_add_passphrase(s.ks, s.mk, bytes("b"), 1, kKsMaxIterations + 1, rng.get()), KsError::BadArgument);
    EXPECT_EQ(ks_add_passphrase(s.ks, s.mk, bytes(""), 0, kTestIterations, rng.get()), KsError::BadArgument);
}

TEST(Keyslot, EditedIterationCountMakesTheSlotFailToOpen) {
    KeySet s{"pw"};
    u64 const at = offsetof(KsFileDisk, slots) + offsetof(KsSlotDisk, iterations);
    Keyslots const e = edited(s.ks, at, static_cast<u8>(s.ks.slots[0].iterations + 1));
    MasterKey mk;
    EXPECT_EQ(ks_unlock(e, bytes("pw"), 2, mk), KsError::WrongPassphrase);
}

TEST(Keyslot, SlotMovedToAnotherIndexFailsToOpen) {
    KeySet s{"pw"};
    Keyslots moved = s.ks;
    moved.slots[3] = moved.slots[0];
    moved.slots[0] = KsSlot{};
    MasterKey mk;
    EXPECT_EQ(ks_unlock(moved, bytes("pw"), 2, mk), KsError::WrongPassphrase);
}

TEST(Keyslot, EditedDataUnitIsCaughtByTheCheckValue) {
    // The slot still opens (its tag does not cover the header), but the key no longer
    // matches the header: the sector size was changed behind the key's back.
    KeySet s{"pw"};
    u64 const at = offsetof(KsHeaderDisk, data_unit) + 1;  // 512 -> 4096 is byte 1: 0x02 -> 0x10
    Keyslots const e = edited(s.ks, at, 0x10);
    ASSERT_EQ(e.data_unit, 4096u);
    MasterKey mk;
    EXPECT_EQ(ks_unlock(e, bytes("pw"), 2, mk), KsError::HeaderMismatch);
    EXPECT_TRUE(all_zero(mk));
}

TEST(Keyslot, FreshKeySetsDiffer) {
    KeySet a{"pw", 512, 10};
    KeySet b{"pw", 512, 11};
    EXPECT_FALSE(same_key(a.mk, b.mk));
    EXPECT_NE(0, memcmp(a.ks.uuid, b.ks.uuid, sizeof a.ks.uuid));
    EXPECT_EQ(KeySet("pw", 4096).ks.data_unit, 4096u);
}

TEST(Keyslot, CreateRefusesAnOddDataUnit) {
    Keyslots ks;
    MasterKey mk;
    TestRandom rng{1};
    EXPECT_EQ(ks_create(ks, mk, 1024, rng.get()), KsError::BadDataUnit);
}

TEST(Keyslot, FailingRandomSourceIsReported) {
    Keyslots ks;
    MasterKey mk;
    Random const none{[](void*, u8*, u64) { return false; }, nullptr};
    EXPECT_EQ(ks_create(ks, mk, 512, none), KsError::RandomFailed);
    Random const zeros{[](void*, u8* out, u64 n) { memset(out, 0, n); return true; }, nullptr};
    EXPECT_EQ(ks_create(ks, mk, 512, zeros), KsError::RandomFailed) << "equal XTS halves";
    KeySet s{"a"};
    EXPECT_EQ(ks_add_passphrase(s.ks, s.mk, bytes("b"), 1, kTestIterations, none), KsError::RandomFailed);
}

TEST(SecureZero, ZeroesEveryByteAndComparesInFull) {
    u8 buf[37];
    memset(buf, 0xA5, sizeof buf);
    secure_zero(buf, sizeof buf);
    for (u8 const b : buf)
        EXPECT_EQ(b, 0);
    u8 x[4] = {1, 2, 3, 4};
    u8 y[4] = {1, 2, 3, 5};
    EXPECT_FALSE(ct_equal(x, y, 4));
    EXPECT_TRUE(ct_equal(x, y, 3));
}

TEST(Crc32, MatchesTheStandardCheckValue) {
    // The CRC-32 "check" value: CRC of the ASCII digits "123456789" is 0xCBF43926.
    EXPECT_EQ(crc32(bytes("123456789"), 9), 0xCBF43926u);
    EXPECT_EQ(crc32_update(crc32(bytes("1234"), 4), bytes("56789"), 5), 0xCBF43926u);
}

}  // namespace
