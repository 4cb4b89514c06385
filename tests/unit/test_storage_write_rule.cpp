// File protection on the write path (storage/write_rule, through storage::Volume): a write is
// judged by the bytes it would change, against the sectors' current content; protect and
// append-only refuse the whole command, discard puts the bytes back, audit logs and allows.
#include <gtest/gtest.h>

#include <string.h>

#include <vector>

#include "storage/key_table.hpp"
#include "storage/volume.hpp"
#include "storage/write_rule.hpp"
#include "test_policy_keys.hpp"

using namespace tv;
using namespace tv::storage;
using policy::Action;
using policy::Range;

namespace {

constexpr u32 kSector = 512;

std::vector<RuleHit> g_hits;
std::vector<std::string> g_paths;
void record(RuleHit const& h) {
    g_hits.push_back(h);
    g_paths.emplace_back(h.path);
}

struct Rules {
    std::vector<u8> bytes;
    policy::PolicyView view;
    explicit Rules(std::vector<Range> const& ranges, char const* serial = "QM00001") {
        bytes = policy_test::make_policy(ranges.data(), static_cast<u32>(ranges.size()), 2, serial, nullptr);
        EXPECT_EQ(policy::parse_policy(bytes.data(), bytes.size(), view), policy::ParseError::None);
        g_hits.clear();
        g_paths.clear();
    }
    Status check(u64 lba, u64 sectors, u8* data, u8 const* cur) const {
        DiskId id{Bus::Ata, {}};
        EXPECT_EQ(crypto::make_serial("QM00001", 7, id.serial), Status::Ok);
        return WriteRules{&view}.check(id, lba, sectors, kSector, data, cur, record);
    }
};

std::vector<u8> disk_bytes(u64 sectors, u8 seed = 7) {
    std::vector<u8> v(sectors * kSector);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<u8>(i * 31 + seed);
    return v;
}

}  // namespace

TEST(StorageWriteRule, ChangesJustOutsideARangeAreAllowedAndAtItsEdgesRefused) {
    Rules r({{1000, 10, Action::Protect, "/bin/ls"}});
    auto const cur = disk_bytes(1);  // sector 1: bytes 512..1023
    for (u32 byte : {999u, 1010u, 512u, 1023u}) {
        auto d = cur;
        d[byte - 512] ^= 1;
        EXPECT_EQ(r.check(1, 1, d.data(), cur.data()), Status::Ok) << byte;
    }
    for (u32 byte : {1000u, 1009u}) {
        auto d = cur;
        d[byte - 512] ^= 1;
        EXPECT_EQ(r.check(1, 1, d.data(), cur.data()), Status::Refused) << byte;
    }
    ASSERT_EQ(g_hits.size(), 2u);
    EXPECT_EQ(g_hits[0].lba, 1u);
    EXPECT_TRUE(g_hits[0].refused);
    EXPECT_EQ(g_paths[0], "/bin/ls");
}

TEST(StorageWriteRule, RangeAcrossASectorBoundaryIsCheckedInEachSector) {
    Rules r({{1020, 10, Action::Protect, "/etc/passwd"}});  // bytes 1020..1029: sectors 1 and 2
    auto const cur = disk_bytes(1);
    auto d = cur;
    d[1024 - 1024] ^= 1;  // sector 2's first byte
    EXPECT_EQ(r.check(2, 1, d.data(), cur.data()), Status::Refused);
    EXPECT_EQ(g_hits.at(0).lba, 2u);
    d = cur;
    d[6] ^= 1;  // byte 1030: past the range
    EXPECT_EQ(r.check(2, 1, d.data(), cur.data()), Status::Ok);
}

TEST(StorageWriteRule, OneByteRangeInASharedBlockAllowsEveryOtherChange) {
    Rules r({{5000, 1, Action::Protect, "/etc/shadow"}});
    auto const cur = disk_bytes(8);  // an inode-table block: sectors 8..15, bytes 4096..8191
    auto d = disk_bytes(8, 99);       // every byte different ...
    d[5000 - 4096] = cur[5000 - 4096];  // ... but the protected one
    EXPECT_EQ(r.check(8, 8, d.data(), cur.data()), Status::Ok);
    EXPECT_TRUE(g_hits.empty());
    d[5000 - 4096] ^= 0x80;
    EXPECT_EQ(r.check(8, 8, d.data(), cur.data()), Status::Refused);
    EXPECT_EQ(g_hits.at(0).lba, 9u);  // 5000 / 512
}

TEST(StorageWriteRule, WriteSpanningProtectedAndFreeSectorsIsJudgedByTheProtectedOnes) {
    Rules r({{10 * kSector, kSector, Action::Protect, "/usr/bin/sudo"}});
    auto const cur = disk_bytes(5);  // sectors 8..12
    auto d = disk_bytes(5, 3);
    memcpy(&d[2 * kSector], &cur[2 * kSector], kSector);  // sector 10 rewritten as it is
    EXPECT_EQ(r.check(8, 5, d.data(), cur.data()), Status::Ok);
    d[2 * kSector + 100] ^= 1;
    EXPECT_EQ(r.check(8, 5, d.data(), cur.data()), Status::Refused);  // the whole command
    EXPECT_EQ(g_hits.at(0).lba, 10u);
}

TEST(StorageWriteRule, AppendOnlyRefusesChangesToTheCurrentBytesNotBeyondThem) {
    Rules r({{0, 700, Action::AppendOnly, "/var/log/auth.log"}});
    auto const cur = disk_bytes(2);
    auto d = cur;
    d[700] ^= 1;  // appended
    d[1023] ^= 1;
    EXPECT_EQ(r.check(0, 2, d.data(), cur.data()), Status::Ok);
    d[699] ^= 1;
    EXPECT_EQ(r.check(0, 2, d.data(), cur.data()), Status::Refused);
}

TEST(StorageWriteRule, DiscardPutsTheProtectedBytesBackAndLetsTheRestThrough) {
    Rules r({{100, 50, Action::Discard, "/boot/grub/grub.cfg"}});
    auto const cur = disk_bytes(1);
    auto d = disk_bytes(1, 50);
    auto const wanted = d;
    EXPECT_EQ(r.check(0, 1, d.data(), cur.data()), Status::Ok);
    EXPECT_EQ(memcmp(&d[100], &cur[100], 50), 0);        // the disk keeps its bytes
    EXPECT_EQ(memcmp(&d[0], &wanted[0], 100), 0);        // the rest is the guest's
    EXPECT_EQ(memcmp(&d[150], &wanted[150], 362), 0);
    ASSERT_EQ(g_hits.size(), 1u);
    EXPECT_FALSE(g_hits[0].refused);
    EXPECT_EQ(g_hits[0].action, Action::Discard);
}

TEST(StorageWriteRule, AuditLogsAChangeAndAllowsIt) {
    Rules r({{0, 16, Action::Audit, "/etc/hosts"}});
    auto const cur = disk_bytes(1);
    auto d = cur;
    EXPECT_EQ(r.check(0, 1, d.data(), cur.data()), Status::Ok);
    EXPECT_TRUE(g_hits.empty());  // unchanged: nothing to log
    d[3] ^= 1;
    EXPECT_EQ(r.check(0, 1, d.data(), cur.data()), Status::Ok);
    ASSERT_EQ(g_hits.size(), 1u);
    EXPECT_EQ(g_hits[0].action, Action::Audit);
    EXPECT_FALSE(g_hits[0].refused);
    EXPECT_EQ(g_paths[0], "/etc/hosts");
}

TEST(StorageWriteRule, WithoutTheCurrentContentEveryTouchedRangeCountsAsChanged) {
    Rules r({{0, 16, Action::Audit, "/etc/hosts"}, {600, 4, Action::Protect, "/bin/ls"},
             {2000, 4, Action::Discard, "/bin/cp"}});
    auto d = disk_bytes(1);
    EXPECT_EQ(r.check(0, 1, d.data(), nullptr), Status::Ok);  // audit only: logged, allowed
    EXPECT_EQ(g_hits.size(), 1u);
    EXPECT_EQ(r.check(1, 1, d.data(), nullptr), Status::Refused);
    EXPECT_EQ(r.check(3, 1, d.data(), nullptr), Status::Refused);  // discard cannot put back what it never read
    EXPECT_EQ(r.check(5, 1, d.data(), nullptr), Status::Ok);       // touches nothing
}

TEST(StorageWriteRule, TouchesFindsOnlySectorsWithRanges) {
    Rules r({{1000, 24, Action::Protect, "/a"}, {1 << 20, 4096, Action::Audit, "/b"}});
    WriteRules const w{&r.view};
    EXPECT_FALSE(w.touches(0, 1, kSector));
    EXPECT_TRUE(w.touches(1, 1, kSector));
    EXPECT_FALSE(w.touches(2, 1, kSector));  // the range ends where sector 2 begins
    EXPECT_TRUE(w.touches(0, 2, kSector));
    EXPECT_FALSE(w.touches(2, 2046, kSector));  // up to byte 1 MiB, exclusive
    EXPECT_TRUE(w.touches(2, 2047, kSector));
    EXPECT_TRUE(w.touches(0, 1, 4096));  // a 4Kn disk's sector 0 holds bytes 0..4095
    EXPECT_FALSE(WriteRules{}.touches(0, 1u << 20, kSector));
}

TEST(StorageWriteRule, VolumeGetsTheRulesOfThePolicyNamingItsDisk) {
    Rules r({{0, 512, Action::Protect, "/bin/ls"}});
    ASSERT_EQ(set_keys(nullptr, 0, false), Status::Ok);  // no keys: disks pass through
    set_policy_in_force(&r.view);
    set_audit_sink(record);
    auto id = [](char const* s, Bus b) {
        DiskId d{b, {}};
        EXPECT_EQ(crypto::make_serial(s, strlen(s), d.serial), Status::Ok);
        return d;
    };
    Volume mine, other, aoe, stick;
    ASSERT_EQ(mine.attach(id("QM00001", Bus::Ata), kSector), Status::Ok);
    ASSERT_EQ(other.attach(id("QM00002", Bus::Ata), kSector), Status::Ok);
    ASSERT_EQ(aoe.attach(id("QM00001", Bus::Aoe), kSector), Status::Ok);
    ASSERT_EQ(stick.attach(id("QM00001", Bus::Usb), kSector), Status::Ok);  // same serial, other bus
    auto d = disk_bytes(1);
    auto const cur = disk_bytes(1, 1);
    EXPECT_TRUE(mine.write_touches_rules(crypto::Lba{0}, 1));
    EXPECT_EQ(mine.check_write(crypto::Lba{0}, d.data(), 1, cur.data()), Status::Refused);
    EXPECT_EQ(mine.check_write(crypto::Lba{0}, d.data(), 1, d.data()), Status::Ok);
    EXPECT_FALSE(other.write_touches_rules(crypto::Lba{0}, 1));
    EXPECT_EQ(other.check_write(crypto::Lba{0}, d.data(), 1, cur.data()), Status::Ok);
    EXPECT_EQ(aoe.check_write(crypto::Lba{0}, d.data(), 1, cur.data()), Status::Ok);
    EXPECT_FALSE(stick.write_touches_rules(crypto::Lba{0}, 1));
    EXPECT_EQ(stick.check_write(crypto::Lba{0}, d.data(), 1, cur.data()), Status::Ok);
    mine.detach();
    EXPECT_FALSE(mine.write_touches_rules(crypto::Lba{0}, 1));
    set_policy_in_force(nullptr);
    set_audit_sink(nullptr);
}

TEST(StorageWriteRule, AUsbPolicyRulesTheStickWithThatSerialAndNoAtaDisk) {
    Range const range{0, 512, Action::Protect, "/autorun.inf"};
    auto const bytes = policy_test::make_policy(&range, 1, 2, "STICK42", policy_test::kAdminKey, policy::PolicyBus::Usb);
    policy::PolicyView view;
    ASSERT_EQ(policy::parse_policy(bytes.data(), bytes.size(), view), policy::ParseError::None);
    EXPECT_STREQ(policy::policy_bus_name(view.bus), "usb");
    ASSERT_EQ(set_keys(nullptr, 0, false), Status::Ok);
    set_policy_in_force(&view);
    auto id = [](Bus b) {
        DiskId d{b, {}};
        EXPECT_EQ(crypto::make_serial("STICK42", 7, d.serial), Status::Ok);
        return d;
    };
    Volume stick, ata;
    ASSERT_EQ(stick.attach(id(Bus::Usb), kSector), Status::Ok);
    ASSERT_EQ(ata.attach(id(Bus::Ata), kSector), Status::Ok);
    EXPECT_TRUE(stick.write_touches_rules(crypto::Lba{0}, 1));
    EXPECT_FALSE(ata.write_touches_rules(crypto::Lba{0}, 1));
    stick.detach();
    ata.detach();
    set_policy_in_force(nullptr);
}

// Zero-copy (Volume::direct) must never let a judged write skip the rule: on a plain disk a
// write touching a range goes through monitor memory, reads and untouched writes stay direct.
TEST(StorageWriteRule, AWriteThePolicyJudgesIsNeverZeroCopy) {
    Rules r({{0, 512, Action::Protect, "/bin/ls"}});
    ASSERT_EQ(set_keys(nullptr, 0, false), Status::Ok);
    set_policy_in_force(&r.view);
    DiskId d{Bus::Ata, {}};
    ASSERT_EQ(crypto::make_serial("QM00001", 7, d.serial), Status::Ok);
    Volume v;
    ASSERT_EQ(v.attach(d, kSector), Status::Ok);
    EXPECT_FALSE(v.direct(crypto::Lba{0}, 1, true));
    EXPECT_TRUE(v.direct(crypto::Lba{0}, 1, false));
    EXPECT_TRUE(v.direct(crypto::Lba{1}, 8, true));
    v.detach();
    set_policy_in_force(nullptr);
}
