// The per-disk crypto glue: which disks are encrypted, passed through or refused, and that
// the sectors come out exactly as the offline tool's XTS would make them.
#include <gtest/gtest.h>

#include <string.h>

#include <vector>

#include "crypto/xts.hpp"
#include "drivers/ata/sector_crypt.hpp"

using namespace tv;
using namespace tv::ata;

namespace {

// An IDENTIFY serial as the device sends it: characters swapped in each word, space padded.
void raw_serial(char const* text, char (&out)[kSerialBytes]) {
    char padded[kSerialBytes];
    memset(padded, ' ', sizeof padded);
    memcpy(padded, text, strlen(text));
    for (u32 i = 0; i < kSerialBytes; i += 2) {
        out[i] = padded[i + 1];
        out[i + 1] = padded[i];
    }
}

DiskKeyEntry entry(char const* serial, u32 unit, u8 key_seed) {
    DiskKeyEntry e{};
    strcpy(e.serial, serial);
    e.data_unit = unit;
    for (u32 i = 0; i < 64; ++i) e.master_key[i] = static_cast<u8>(key_seed + i * 7);
    return e;
}

std::vector<u8> pattern(size_t n) {
    std::vector<u8> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<u8>(i * 31 + 5);
    return v;
}

std::vector<u8> reference_encrypt(DiskKeyEntry const& e, u64 lba, std::vector<u8> data, u32 unit) {
    crypto::Xts x;
    EXPECT_EQ(x.set_key(e.master_key), Status::Ok);
    EXPECT_EQ(x.encrypt_sectors(crypto::Lba{lba}, unit, data.data(), data.data(), data.size() / unit), Status::Ok);
    return data;
}

SectorCrypt attached(char const* serial, u32 unit) {
    char raw[kSerialBytes];
    raw_serial(serial, raw);
    SectorCrypt sc;
    EXPECT_EQ(sc.attach(raw, unit), Status::Ok);
    return sc;
}

}  // namespace

TEST(SectorCrypt, MatchingSerialEncryptsLikeTheOfflineTool) {
    static DiskKeyEntry keys[] = {entry("OTHER", 512, 1), entry("QM00001", 512, 9)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 2, true), Status::Ok);
    SectorCrypt sc = attached("QM00001", 512);
    EXPECT_TRUE(sc.active());
    EXPECT_STREQ(sc.disk_name(), "QM00001");
    auto plain = pattern(512 * 4);
    auto buf = plain;
    ASSERT_EQ(sc.encrypt(Lba{100}, buf.data(), 4), Status::Ok);
    EXPECT_EQ(buf, reference_encrypt(keys[1], 100, plain, 512));
    ASSERT_EQ(sc.decrypt(Lba{100}, buf.data(), 4), Status::Ok);
    EXPECT_EQ(buf, plain);
}

TEST(SectorCrypt, FourKiBSectorsUseTheSectorAsDataUnit) {
    static DiskKeyEntry keys[] = {entry("BIG4K", 4096, 3)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    SectorCrypt sc = attached("BIG4K", 4096);
    EXPECT_TRUE(sc.active());
    EXPECT_EQ(sc.sector_size(), 4096u);
    auto plain = pattern(4096 * 3);
    auto buf = plain;
    ASSERT_EQ(sc.encrypt(Lba{7}, buf.data(), 3), Status::Ok);
    EXPECT_EQ(buf, reference_encrypt(keys[0], 7, plain, 4096));
}

TEST(SectorCrypt, KeyForOtherSectorSizeDeniesTheDisk) {
    static DiskKeyEntry keys[] = {entry("QM00001", 512, 3)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    SectorCrypt sc = attached("QM00001", 4096);
    EXPECT_EQ(sc.policy(), DiskPolicy::Deny);
    EXPECT_FALSE(sc.allowed(Lba{0}, 1));
}

TEST(SectorCrypt, PlaintextRangesAreLeftAsTheyAre) {
    static DiskKeyEntry keys[] = {entry("QM00001", 512, 5)};
    keys[0].plaintext[0] = LbaRange{Lba{2}, Lba{3}};
    keys[0].plaintext_count = 1;
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    SectorCrypt sc = attached("QM00001", 512);
    auto plain = pattern(512 * 6);
    auto buf = plain;
    ASSERT_EQ(sc.encrypt(Lba{0}, buf.data(), 6), Status::Ok);
    auto all = reference_encrypt(keys[0], 0, plain, 512);
    for (u32 s = 0; s < 6; ++s) {
        bool const is_plain = s == 2 || s == 3;
        auto const& want = is_plain ? plain : all;
        EXPECT_EQ(0, memcmp(buf.data() + s * 512, want.data() + s * 512, 512)) << "sector " << s;
    }
}

TEST(SectorCrypt, UnlistedDiskIsDeniedWhenDisksAreConfigured) {
    static DiskKeyEntry keys[] = {entry("QM00001", 512, 5)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    SectorCrypt sc = attached("QM00002", 512);
    EXPECT_EQ(sc.policy(), DiskPolicy::Deny);
    EXPECT_FALSE(sc.active());
    EXPECT_FALSE(sc.allowed(Lba{0}, 1));
    u8 buf[512] = {};
    EXPECT_EQ(sc.encrypt(Lba{0}, buf, 1), Status::Refused);
}

TEST(SectorCrypt, UnlistedDiskPassesThroughWithoutAnyConfiguredDisk) {
    ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok);
    SectorCrypt before;
    EXPECT_EQ(before.policy(), DiskPolicy::PassThrough);
    SectorCrypt sc = attached("QM00002", 512);
    EXPECT_EQ(sc.policy(), DiskPolicy::PassThrough);
    EXPECT_TRUE(sc.allowed(Lba{0}, 1));
    auto plain = pattern(512);
    auto buf = plain;
    ASSERT_EQ(sc.encrypt(Lba{0}, buf.data(), 1), Status::Ok);
    EXPECT_EQ(buf, plain);
}

TEST(SectorCrypt, DiskIsDeniedUntilIdentifiedWhenDisksAreConfigured) {
    static DiskKeyEntry keys[] = {entry("QM00001", 512, 5)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    SectorCrypt sc;
    EXPECT_FALSE(sc.allowed(Lba{0}, 1));
    sc = attached("QM00001", 512);
    EXPECT_TRUE(sc.allowed(Lba{0}, 1));
    sc.detach();
    EXPECT_FALSE(sc.allowed(Lba{0}, 1));
}

TEST(SectorCrypt, WildcardSerialMatchesAnyDisk) {
    static DiskKeyEntry keys[] = {entry("*", 512, 5)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    EXPECT_TRUE(attached("ANYTHING", 512).active());
}

TEST(SectorCrypt, RangesPastFortyEightBitsAreRefused) {
    ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok);
    SectorCrypt sc = attached("X", 512);
    EXPECT_TRUE(sc.allowed(Lba{(1ull << 48) - 1}, 1));
    EXPECT_FALSE(sc.allowed(Lba{(1ull << 48) - 1}, 2));
}

TEST(SectorCrypt, OddSectorSizeIsInvalidAndDenied) {
    ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok);
    char raw[kSerialBytes];
    raw_serial("X", raw);
    SectorCrypt sc;
    EXPECT_EQ(sc.attach(raw, 1024), Status::Invalid);
    EXPECT_EQ(sc.policy(), DiskPolicy::Deny);
}

TEST(SectorCrypt, IdentifyHelpersReadSerialAndLogicalSectorSize) {
    u16 id[256] = {};
    EXPECT_EQ(logical_sector_size(id), 512u);
    id[106] = 0x4000 | (1u << 12);
    id[117] = 2048;  // words
    EXPECT_EQ(logical_sector_size(id), 4096u);
    id[106] = 0xC000 | (1u << 12);  // bit 15 set: the word is not valid
    EXPECT_EQ(logical_sector_size(id), 512u);
    char raw[kSerialBytes];
    raw_serial("QM00001", raw);
    memcpy(&id[10], raw, sizeof raw);
    char got[kSerialBytes];
    identify_serial(id, got);
    EXPECT_EQ(0, memcmp(got, raw, sizeof raw));
}

// The pipeline picks the mediators' data path: zero-copy only where nothing has to see or
// change the data on the way (docs/ahci.md, "Encryption and zero-copy").
TEST(SectorCrypt, OnlyAPassedThroughDiskIsZeroCopy) {
    ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok);
    SectorCrypt plain = attached("QM00002", 512);
    EXPECT_TRUE(plain.zero_copy(Lba{0}, 8, false));
    EXPECT_TRUE(plain.zero_copy(Lba{0}, 8, true));
    EXPECT_FALSE(plain.zero_copy(Lba{(1ull << 48) - 1}, 2, false)) << "a refused run is never zero-copy";
    static DiskKeyEntry keys[] = {entry("QM00001", 512, 5)};
    keys[0].plaintext[0] = LbaRange{2, 3};
    keys[0].plaintext_count = 1;
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    SectorCrypt enc = attached("QM00001", 512);
    EXPECT_FALSE(enc.zero_copy(Lba{0}, 8, false));
    EXPECT_FALSE(enc.zero_copy(Lba{2}, 2, true)) << "plaintext ranges of an encrypted disk still bounce";
    SectorCrypt denied = attached("QM00009", 512);
    EXPECT_FALSE(denied.zero_copy(Lba{0}, 1, false));
}
