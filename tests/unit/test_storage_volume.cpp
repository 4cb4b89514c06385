// The storage pipeline at its edges: which sectors of a volume are sealed and which pass as
// they are, sector by sector against the offline tool's XTS, for requests that start, end or
// cross the edges of plaintext ranges; and which key table entry a disk of each bus gets.
#include <gtest/gtest.h>

#include <string.h>

#include <set>
#include <vector>

#include "crypto/xts.hpp"
#include "storage/key_table.hpp"
#include "storage/volume.hpp"

using namespace tv;
using namespace tv::storage;

namespace {

constexpr u32 kSector = 512;

KeyEntry entry(char const* serial, Bus bus, u8 key_seed, std::vector<LbaRange> plain = {}) {
    KeyEntry e{};
    strcpy(e.serial, serial);
    e.bus = bus;
    e.data_unit = kSector;
    for (u32 i = 0; i < 64; ++i) e.master_key[i] = static_cast<u8>(key_seed + i * 13);
    for (LbaRange const& r : plain) e.plaintext[e.plaintext_count++] = r;
    return e;
}

DiskId disk(char const* serial, Bus bus = Bus::Ata) {
    DiskId id{bus, {}};
    EXPECT_EQ(crypto::make_serial(serial, strlen(serial), id.serial), Status::Ok);
    return id;
}

std::vector<u8> pattern(u64 sectors) {
    std::vector<u8> v(sectors * kSector);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<u8>(i * 29 + 3);
    return v;
}

// Sectors lba .. lba+n-1 of a volume with table entry e, sealed; then which of them came out
// unchanged (plaintext) and which as the offline tool's XTS makes them (encrypted). Any other
// outcome fails the test.
std::set<u64> plaintext_sectors_after_seal(KeyEntry const& e, u64 lba, u64 n) {
    Volume v;
    EXPECT_EQ(v.attach(disk("DISK-A"), kSector), Status::Ok);
    EXPECT_TRUE(v.active());
    auto const plain = pattern(n);
    auto sealed = plain;
    EXPECT_EQ(v.seal(crypto::Lba{lba}, sealed.data(), n), Status::Ok);
    auto reference = plain;
    crypto::Xts x;
    EXPECT_EQ(x.set_key(e.master_key), Status::Ok);
    EXPECT_EQ(x.encrypt_sectors(crypto::Lba{lba}, kSector, reference.data(), reference.data(), n), Status::Ok);
    std::set<u64> out;
    for (u64 s = 0; s < n; ++s) {
        u8 const* got = sealed.data() + s * kSector;
        if (memcmp(got, plain.data() + s * kSector, kSector) == 0)
            out.insert(lba + s);
        else
            EXPECT_EQ(0, memcmp(got, reference.data() + s * kSector, kSector)) << "sector " << lba + s;
    }
    auto back = sealed;
    EXPECT_EQ(v.unseal(crypto::Lba{lba}, back.data(), n), Status::Ok);
    EXPECT_EQ(back, plain) << "unseal does not undo seal";
    return out;
}

KeyEntry g_entry;

void install(std::vector<LbaRange> plain) {
    g_entry = entry("DISK-A", Bus::Ata, 7, plain);
    ASSERT_EQ(set_keys(&g_entry, 1, true), Status::Ok);
}

}  // namespace

TEST(StorageVolume, OneSectorPlaintextRangeAtLbaZero) {
    install({{0, 0}});
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 0, 3), (std::set<u64>{0}));
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 0, 1), (std::set<u64>{0}));
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 1, 1), (std::set<u64>{}));
}

TEST(StorageVolume, EachEdgeSectorOfARangeAlone) {
    install({{10, 14}});
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 9, 1), (std::set<u64>{}));
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 10, 1), (std::set<u64>{10}));
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 14, 1), (std::set<u64>{14}));
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 15, 1), (std::set<u64>{}));
}

TEST(StorageVolume, RequestStartingOnARangesLastSector) {
    install({{10, 14}});
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 14, 4), (std::set<u64>{14}));
}

TEST(StorageVolume, RequestEndingOnARangesFirstSector) {
    install({{10, 14}});
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 7, 4), (std::set<u64>{10}));
}

TEST(StorageVolume, RequestSpanningEncryptedPlaintextAndEncryptedSectors) {
    install({{10, 14}, {16, 16}});
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 8, 11), (std::set<u64>{10, 11, 12, 13, 14, 16}));
}

TEST(StorageVolume, TouchingRangesAreOnePlaintextRun) {
    install({{4, 5}, {6, 6}});
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, 3, 5), (std::set<u64>{4, 5, 6}));
}

TEST(StorageVolume, RangePastTheLbaLimitIsClipped) {
    install({{0, ~0ull}});  // the whole disk plaintext: nothing is ever sealed
    EXPECT_EQ(plaintext_sectors_after_seal(g_entry, kLbaLimit - 2, 2), (std::set<u64>{kLbaLimit - 2, kLbaLimit - 1}));
}

TEST(StorageVolume, OverlappingRangesAreRefusedByTheTable) {
    KeyEntry e = entry("DISK-A", Bus::Ata, 7, {{0, 9}, {9, 12}});
    EXPECT_EQ(set_keys(&e, 1, true), Status::Invalid);
}

TEST(StorageVolume, RunsReachingPastLba48AreRefused) {
    install({});
    Volume v;
    ASSERT_EQ(v.attach(disk("DISK-A"), kSector), Status::Ok);
    EXPECT_TRUE(v.allowed(crypto::Lba{kLbaLimit - 1}, 1));
    EXPECT_FALSE(v.allowed(crypto::Lba{kLbaLimit - 1}, 2));
    EXPECT_FALSE(v.allowed(crypto::Lba{~0ull}, 1));
    u8 buf[kSector] = {};
    EXPECT_EQ(v.seal(crypto::Lba{kLbaLimit}, buf, 1), Status::Refused);
}

TEST(StorageVolume, AnEntryAppliesOnlyToDisksOfItsBus) {
    static KeyEntry keys[] = {entry("SAME", Bus::Aoe, 1), entry("LOCAL", Bus::Ata, 2)};
    ASSERT_EQ(set_keys(keys, 2, true), Status::Ok);
    Volume aoe;
    ASSERT_EQ(aoe.attach(disk("SAME", Bus::Aoe), kSector), Status::Ok);
    EXPECT_EQ(aoe.policy(), DiskPolicy::Encrypt);
    Volume ata;
    ASSERT_EQ(ata.attach(disk("SAME", Bus::Ata), kSector), Status::Ok);
    EXPECT_EQ(ata.policy(), DiskPolicy::Deny);  // an ATA disk nobody listed, disks configured
    Volume other_aoe;
    ASSERT_EQ(other_aoe.attach(disk("LOCAL", Bus::Aoe), kSector), Status::Ok);
    EXPECT_EQ(other_aoe.policy(), DiskPolicy::PassThrough);  // [aoe] named it; no entry encrypts it
}

TEST(StorageVolume, AListedSerialWinsOverTheWildcardWhereverItStands) {
    static KeyEntry keys[] = {entry("*", Bus::Ata, 1), entry("DISK-A", Bus::Ata, 2, {{0, 0}})};
    ASSERT_EQ(set_keys(keys, 2, true), Status::Ok);
    EXPECT_EQ(plaintext_sectors_after_seal(keys[1], 0, 2), (std::set<u64>{0}));
    Volume any;
    ASSERT_EQ(any.attach(disk("SOMETHING-ELSE"), kSector), Status::Ok);
    EXPECT_EQ(any.policy(), DiskPolicy::Encrypt);
}

TEST(StorageVolume, DiskWithoutSerialMatchesOnlyTheWildcard) {
    static KeyEntry keys[] = {entry("DISK-A", Bus::Ata, 1)};
    ASSERT_EQ(set_keys(keys, 1, true), Status::Ok);
    char raw[kAtaSerialBytes];
    memset(raw, ' ', sizeof raw);
    Volume v;
    ASSERT_EQ(v.attach(ata_disk_id(raw), kSector), Status::Ok);
    EXPECT_EQ(v.policy(), DiskPolicy::Deny);
}

TEST(StorageDiskId, AtaSerialIsUnswappedAndTrimmed) {
    char raw[kAtaSerialBytes];
    char const text[] = "QM00001             ";
    for (u32 i = 0; i < kAtaSerialBytes; i += 2) {
        raw[i] = text[i + 1];
        raw[i + 1] = text[i];
    }
    DiskId const id = ata_disk_id(raw);
    EXPECT_EQ(id.bus, Bus::Ata);
    EXPECT_STREQ(id.serial.text, "QM00001");
}
