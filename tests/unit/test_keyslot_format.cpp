// The keyslot file parser is strict: every truncation, every damaged byte and every field
// outside the format is refused with an error that says which kind of problem it is.
#include <gtest/gtest.h>
#include <stddef.h>
#include <string.h>

#include <set>
#include <string>
#include <vector>

#include "crypto/keyslot_format.hpp"
#include "tests/unit/test_keyslot_util.hpp"

using namespace tv;
using namespace tv::crypto;
using namespace tv::crypto::test_util;

namespace {

u8* raw(KsFileDisk& f) { return reinterpret_cast<u8*>(&f); }

KsError parse(KsFileDisk const& f, u32* bad_slot = nullptr) {
    Keyslots out;
    return parse_keyslots(reinterpret_cast<u8 const*>(&f), sizeof f, out, bad_slot);
}

// One set with a passphrase in slot 0, built once (key derivation is the slow part).
KsFileDisk const& good() {
    static KsFileDisk const f = KeySet{"pw"}.file();
    return f;
}

// good() with a 32-bit field at offset set to v and the CRC made valid again.
KsError with_u32(u64 offset, u32 v, u32* bad_slot = nullptr) {
    KsFileDisk f = good();
    Le32 le;
    le.set(v);
    memcpy(raw(f) + offset, le.b, 4);
    fix_crc(f);
    return parse(f, bad_slot);
}

constexpr u64 kSlot0 = offsetof(KsFileDisk, slots);

TEST(KeyslotFormat, GoodFileParses) { EXPECT_EQ(parse(good()), KsError::Ok); }

TEST(KeyslotFormat, FieldsAreLittleEndianAtTheirDocumentedOffsets) {
    u8 const* p = reinterpret_cast<u8 const*>(&good());
    EXPECT_EQ(0, memcmp(p, "TVKEYSLT", 8));
    EXPECT_EQ(p[8], 1);   // version
    EXPECT_EQ(p[9], 0);
    EXPECT_EQ(p[10], 0x00);  // header bytes 512 = 0x0200
    EXPECT_EQ(p[11], 0x02);
    EXPECT_EQ(p[14], 8);  // slot count
    EXPECT_EQ(p[16], 0x00);  // file bytes 4608 = 0x1200
    EXPECT_EQ(p[17], 0x12);
    EXPECT_EQ(p[20], 0x00);  // data unit 512
    EXPECT_EQ(p[21], 0x02);
    EXPECT_EQ(p[24], 1);  // cipher: aes-256-xts-plain64
    EXPECT_EQ(p[28], 64);  // key bytes
    EXPECT_EQ(p[kSlot0], 1);  // slot 0: passphrase
    EXPECT_EQ(p[kSlot0 + 8], 1);  // pbkdf2-sha256
    EXPECT_EQ(p[kSlot0 + 48], 1);  // aes-256-gcm
    EXPECT_EQ(sizeof good(), 4608u);
}

TEST(KeyslotFormat, EveryTruncationIsReportedAsTruncated) {
    std::vector<u8> const full(reinterpret_cast<u8 const*>(&good()),
                               reinterpret_cast<u8 const*>(&good()) + sizeof good());
    Keyslots out;
    for (u64 len = 0; len < full.size(); ++len)
        ASSERT_EQ(parse_keyslots(full.data(), len, out), KsError::Truncated) << "length " << len;
}

TEST(KeyslotFormat, ExtraBytesAreRefused) {
    std::vector<u8> longer(reinterpret_cast<u8 const*>(&good()),
                           reinterpret_cast<u8 const*>(&good()) + sizeof good());
    longer.push_back(0);
    Keyslots out;
    EXPECT_EQ(parse_keyslots(longer.data(), longer.size(), out), KsError::TrailingData);
}

TEST(KeyslotFormat, OtherFilesAreNotKeyslotFiles) {
    std::vector<u8> const text(5000, 'x');
    Keyslots out;
    EXPECT_EQ(parse_keyslots(text.data(), text.size(), out), KsError::BadMagic);
    EXPECT_EQ(parse_keyslots(text.data(), 100, out), KsError::BadMagic);
    EXPECT_EQ(parse_keyslots(nullptr, 0, out), KsError::Truncated);
}

TEST(KeyslotFormat, EveryFlippedBitIsRefused) {
    // The layout fields come first; everywhere else the CRC reports the damage.
    for (u64 byte = 0; byte < sizeof(KsFileDisk); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            KsFileDisk f = good();
            raw(f)[byte] = static_cast<u8>(raw(f)[byte] ^ (1u << bit));
            KsError const e = parse(f);
            KsError want = KsError::ChecksumMismatch;
            if (byte < 8)
                want = KsError::BadMagic;
            else if (byte < 10)
                want = KsError::UnsupportedVersion;
            else if (byte < 20)
                want = KsError::BadLayout;
            ASSERT_EQ(e, want) << "byte " << byte << " bit " << bit;
        }
    }
}

TEST(KeyslotFormat, HeaderFieldsOutsideTheFormatAreRefused) {
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, version), 2), KsError::UnsupportedVersion);
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, file_bytes), 4609), KsError::BadLayout);
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, data_unit), 1024), KsError::BadDataUnit);
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, data_unit), 0), KsError::BadDataUnit);
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, cipher), 2), KsError::UnsupportedCipher);
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, key_bytes), 32), KsError::BadKeySize);
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, check_alg), 0), KsError::UnsupportedCheck);
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, flags), 1), KsError::BadReserved);
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, reserved) + 100, 1), KsError::BadReserved);
    EXPECT_EQ(with_u32(offsetof(KsHeaderDisk, data_unit), 4096), KsError::Ok)
        << "4096 is a valid unit (the check value, not the parser, ties it to the key)";
}

TEST(KeyslotFormat, SlotFieldsOutsideTheFormatAreRefusedNamingTheSlot) {
    struct Case {
        u64 field;
        u32 value;
        char const* what;
    };
    Case const cases[] = {
        {offsetof(KsSlotDisk, type), 2, "a passphrase slot relabelled as a card slot"},
        {offsetof(KsSlotDisk, type), 77, "unknown type"},
        {offsetof(KsSlotDisk, flags), 1, "flags"},
        {offsetof(KsSlotDisk, kdf), 2, "unknown kdf"},
        {offsetof(KsSlotDisk, iterations), kKsMinIterations - 1, "too few iterations"},
        {offsetof(KsSlotDisk, iterations), kKsMaxIterations + 1, "too many iterations"},
        {offsetof(KsSlotDisk, wrap), 0, "no wrap"},
        {offsetof(KsSlotDisk, type_data) + 5, 1, "passphrase slots have no type data"},
    };
    for (Case const& c : cases) {
        u32 bad = 99;
        EXPECT_EQ(with_u32(kSlot0 + c.field, c.value, &bad), KsError::BadSlot) << c.what;
        EXPECT_EQ(bad, 0u) << c.what;
    }
}

TEST(KeyslotFormat, EmptySlotsMustBeAllZero) {
    u32 bad = 99;
    EXPECT_EQ(with_u32(kSlot0 + 3 * sizeof(KsSlotDisk) + 200, 1, &bad), KsError::BadSlot);
    EXPECT_EQ(bad, 3u);
}

TEST(KeyslotFormat, FileWithoutAnActiveSlotIsRefused) {
    EXPECT_EQ(with_u32(kSlot0 + offsetof(KsSlotDisk, type), 0), KsError::BadSlot)
        << "an emptied slot with data left in it";
    KsFileDisk f = good();
    memset(&f.slots[0], 0, sizeof f.slots[0]);
    fix_crc(f);
    EXPECT_EQ(parse(f), KsError::NoActiveSlot);
}

TEST(KeyslotFormat, SerializeThenParseGivesTheSameSet) {
    Keyslots a;
    ASSERT_EQ(parse(good()), KsError::Ok);
    ASSERT_EQ(parse_keyslots(reinterpret_cast<u8 const*>(&good()), sizeof good(), a), KsError::Ok);
    KsFileDisk again;
    serialize_keyslots(a, again);
    EXPECT_EQ(0, memcmp(&again, &good(), sizeof again));
}

TEST(KeyslotFormat, EveryErrorHasItsOwnMessage) {
    std::set<std::string> seen;
    for (int e = static_cast<int>(KsError::Ok); e <= static_cast<int>(KsError::CryptoFailed); ++e) {
        std::string const m = describe(static_cast<KsError>(e));
        EXPECT_FALSE(m.empty());
        EXPECT_TRUE(seen.insert(m).second) << "duplicate message: " << m;
    }
    EXPECT_NE(std::string{describe(KsError::WrongPassphrase)}.find("wrong passphrase"), std::string::npos);
    EXPECT_NE(std::string{describe(KsError::ChecksumMismatch)}.find("corrupt"), std::string::npos);
    EXPECT_NE(std::string{describe(KsError::Truncated)}.find("truncated"), std::string::npos);
}

}  // namespace
