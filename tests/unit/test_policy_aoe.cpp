// The file-protection rule on the AoE disk (drivers/aoe_disk/aoe_disk_sealed through
// storage::Volume): the target's current content is read first, a refused write sends nothing
// at all, and the rest of a shared sector may change. Plaintext and encrypted disks alike.
#include <gtest/gtest.h>

#include <memory>

#include "drivers/aoe_disk/aoe_disk_sealed.hpp"
#include "storage/key_table.hpp"
#include "storage/write_rule.hpp"
#include "test_policy_keys.hpp"
#include "tests/unit/test_aoe_disk_fake.hpp"

using namespace aoedisk;
using tv::policy::Action;

namespace {

IdentifyParams target() {
    IdentifyParams p{};
    p.shelf = 1;
    p.slot = 2;
    return p;
}

int g_refusals;
void count_refusals(storage::RuleHit const& h) { g_refusals += h.refused; }

struct PolicyRig {
    std::vector<u8> policy_bytes;
    policy::PolicyView view;
    FakeBlock blk;
    std::unique_ptr<SealedBlock> s = std::make_unique<SealedBlock>();

    explicit PolicyRig(std::vector<policy::Range> const& ranges) {
        storage::DiskId const id = aoe_disk_id(target());
        policy_bytes = policy_test::make_policy(ranges.data(), static_cast<u32>(ranges.size()), 2, id.serial.text,
                                                nullptr, policy::PolicyBus::Aoe);
        EXPECT_EQ(policy::parse_policy(policy_bytes.data(), policy_bytes.size(), view), policy::ParseError::None);
        EXPECT_EQ(storage::set_keys(nullptr, 0, false), Status::Ok);  // the AoE disk passes through
        storage::set_policy_in_force(&view);
        storage::set_audit_sink(count_refusals);
        g_refusals = 0;
        EXPECT_TRUE(s->init(&blk, id));
    }
    ~PolicyRig() {
        storage::set_policy_in_force(nullptr);
        storage::set_audit_sink(nullptr);
    }
};

}  // namespace

TEST(PolicyAoe, MultiSectorWriteWithOneRefusedSectorSendsNothing) {
    u32 const n = SealedBlock::kBufSectors + 10;  // two sealing chunks; the refused sector is in the second
    u64 const protected_lba = 100 + SealedBlock::kBufSectors + 5;
    PolicyRig r({{protected_lba * 512 + 10, 4, Action::Protect, "/sbin/init"}});
    auto const before = r.blk.disk;
    std::vector<u8> data(n * 512ull, 0xEE);
    DiskResult const res = r.s->write(tv::Lba{100}, n, data.data());
    EXPECT_FALSE(res.ok());
    EXPECT_EQ(res.lba.raw, protected_lba);
    EXPECT_EQ(r.blk.writes, 0);
    EXPECT_EQ(r.blk.disk, before);
    EXPECT_EQ(g_refusals, 1);
}

TEST(PolicyAoe, SharedSectorChangesAroundUnchangedProtectedBytesAreWritten) {
    PolicyRig r({{50 * 512 + 100, 8, Action::Protect, "/etc/passwd"}});
    std::vector<u8> data(512, 0x11);
    memcpy(&data[100], &r.blk.disk[50 * 512 + 100], 8);  // the protected bytes as they are
    ASSERT_TRUE(r.s->write(tv::Lba{50}, 1, data.data()).ok());
    EXPECT_EQ(0, memcmp(&r.blk.disk[50 * 512], data.data(), 512));
    EXPECT_EQ(g_refusals, 0);
}

TEST(PolicyAoe, DiscardKeepsTheTargetsBytesAndWritesTheRest) {
    PolicyRig r({{60 * 512, 16, Action::Discard, "/boot/grub/grub.cfg"}});
    std::vector<u8> const old(r.blk.disk.begin() + 60 * 512, r.blk.disk.begin() + 61 * 512);
    std::vector<u8> data(512, 0x22);
    ASSERT_TRUE(r.s->write(tv::Lba{60}, 1, data.data()).ok());
    EXPECT_EQ(0, memcmp(&r.blk.disk[60 * 512], old.data(), 16));
    EXPECT_EQ(r.blk.disk[60 * 512 + 16], 0x22);
}

TEST(PolicyAoe, WritesAwayFromTheRangesNeedNoRead) {
    PolicyRig r({{60 * 512, 16, Action::Protect, "/bin/ls"}});
    std::vector<u8> data(8 * 512, 0x33);
    ASSERT_TRUE(r.s->write(tv::Lba{0}, 8, data.data()).ok());
    EXPECT_EQ(r.blk.reads, 0);
    EXPECT_EQ(r.blk.writes, 1);
}
