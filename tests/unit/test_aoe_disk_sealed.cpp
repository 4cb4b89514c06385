// The AoE disk through the storage pipeline: with a [disk.*] entry of bus = aoe the target
// only ever holds ciphertext (the offline tool's XTS, so thinvisor-disk decrypts vblade's
// file), and the guest reads its plaintext back; without one the sectors pass unchanged.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "crypto/xts.hpp"
#include "drivers/aoe_disk/aoe_disk_sealed.hpp"
#include "storage/key_table.hpp"
#include "tests/unit/test_aoe_disk_fake.hpp"

using namespace aoedisk;

namespace {

IdentifyParams target() {
    IdentifyParams p{};
    p.shelf = 1;
    p.slot = 2;
    p.mac_tail[0] = 0xAB;
    return p;
}

storage::KeyEntry aoe_entry(char const* serial, u32 unit = 512) {
    storage::KeyEntry e{};
    strcpy(e.serial, serial);
    e.bus = storage::Bus::Aoe;
    e.data_unit = unit;
    for (u32 i = 0; i < 64; ++i) e.master_key[i] = static_cast<u8>(0x5A ^ (i * 11));
    return e;
}

std::vector<u8> marked(u32 sectors) {
    std::vector<u8> v(sectors * 512ull);
    for (u32 s = 0; s < sectors; ++s) snprintf(reinterpret_cast<char*>(&v[s * 512ull]), 512, "TVAOEMARK-%u", s);
    return v;
}

bool holds_marker(std::vector<u8> const& disk) {
    static char const kMark[] = "TVAOEMARK";
    return std::search(disk.begin(), disk.end(), kMark, kMark + 9) != disk.end();
}

}  // namespace

TEST(AoeDiskSealed, TargetHoldsOnlyCiphertextAndTheGuestReadsPlaintext) {
    static storage::KeyEntry keys[] = {aoe_entry("*")};
    ASSERT_EQ(storage::set_keys(keys, 1, true), Status::Ok);
    FakeBlock blk;
    auto s = std::make_unique<SealedBlock>();
    ASSERT_TRUE(s->init(&blk, aoe_disk_id(target())));
    EXPECT_TRUE(s->volume().active());
    u32 const n = SealedBlock::kBufSectors + 44;  // more than one sealing buffer
    auto const plain = marked(n);
    ASSERT_TRUE(s->write(tv::Lba{10}, n, plain.data()).ok());
    EXPECT_FALSE(holds_marker(blk.disk)) << "plaintext reached the target";
    auto want = plain;
    crypto::Xts x;
    ASSERT_EQ(x.set_key(keys[0].master_key), Status::Ok);
    ASSERT_EQ(x.encrypt_sectors(crypto::Lba{10}, 512, want.data(), want.data(), n), Status::Ok);
    EXPECT_EQ(0, memcmp(blk.disk.data() + 10 * 512, want.data(), want.size())) << "not the offline tool's XTS";
    std::vector<u8> back(plain.size());
    ASSERT_TRUE(s->read(tv::Lba{10}, n, back.data()).ok());
    EXPECT_EQ(back, plain);
}

TEST(AoeDiskSealed, WithoutAnAoeEntrySectorsPassUnchanged) {
    static storage::KeyEntry keys[] = {aoe_entry("*")};
    keys[0].bus = storage::Bus::Ata;  // a local disk's entry: not the AoE disk's
    ASSERT_EQ(storage::set_keys(keys, 1, true), Status::Ok);
    FakeBlock blk;
    auto s = std::make_unique<SealedBlock>();
    ASSERT_TRUE(s->init(&blk, aoe_disk_id(target())));
    EXPECT_EQ(s->volume().policy(), storage::DiskPolicy::PassThrough);
    auto const plain = marked(4);
    ASSERT_TRUE(s->write(tv::Lba{0}, 4, plain.data()).ok());
    EXPECT_EQ(0, memcmp(blk.disk.data(), plain.data(), plain.size()));
}

TEST(AoeDiskSealed, AnEntryNamingAnotherTargetLeavesThisOnePlain) {
    static storage::KeyEntry keys[] = {aoe_entry("AOE000000-E9.9")};
    ASSERT_EQ(storage::set_keys(keys, 1, true), Status::Ok);
    FakeBlock blk;
    auto s = std::make_unique<SealedBlock>();
    ASSERT_TRUE(s->init(&blk, aoe_disk_id(target())));
    EXPECT_FALSE(s->volume().active());
    static storage::KeyEntry mine[] = {aoe_entry("AOEAB0000-E1.2")};
    ASSERT_EQ(storage::set_keys(mine, 1, true), Status::Ok);
    ASSERT_TRUE(s->init(&blk, aoe_disk_id(target())));
    EXPECT_TRUE(s->volume().active());
}

TEST(AoeDiskSealed, KeyForAnotherSectorSizeRefusesEverySector) {
    static storage::KeyEntry keys[] = {aoe_entry("*", 4096)};
    ASSERT_EQ(storage::set_keys(keys, 1, true), Status::Ok);
    FakeBlock blk;
    auto s = std::make_unique<SealedBlock>();
    EXPECT_FALSE(s->init(&blk, aoe_disk_id(target())));
    std::vector<u8> buf(512);
    EXPECT_EQ(s->read(tv::Lba{0}, 1, buf.data()).fault, DiskFault::Refused);
    EXPECT_EQ(s->write(tv::Lba{0}, 1, buf.data()).fault, DiskFault::Refused);
    EXPECT_EQ(blk.reads + blk.writes, 0) << "a refused sector reached the target";
}

TEST(AoeDiskSealed, TheDiskIsKnownByItsIdentifySerialOnTheAoeBus) {
    storage::DiskId const id = aoe_disk_id(target());
    EXPECT_EQ(id.bus, storage::Bus::Aoe);
    EXPECT_STREQ(id.serial.text, "AOEAB0000-E1.2");
}
