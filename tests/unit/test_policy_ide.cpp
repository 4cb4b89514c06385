// The file-protection rule on IDE (drivers/ide/ide_protect.cpp asking storage/): a DMA write
// the policy touches is judged against the sectors read from the device first; a refusal is
// ABRT with nothing written; PIO writes touching a range are refused at the command.
#include <gtest/gtest.h>

#include <algorithm>

#include "storage/key_table.hpp"
#include "storage/write_rule.hpp"
#include "test_policy_keys.hpp"
#include "tests/unit/test_ide_fake.hpp"

using namespace idefake;
using tv::policy::Action;

namespace {

constexpr u64 kTable = 0x1000, kBuf = 0x20000;

struct Protected {
    std::vector<u8> bytes;
    policy::PolicyView view;
    explicit Protected(std::vector<policy::Range> const& ranges) {
        bytes = policy_test::make_policy(ranges.data(), static_cast<u32>(ranges.size()), 2, "QM00001", nullptr);
        EXPECT_EQ(policy::parse_policy(bytes.data(), bytes.size(), view), policy::ParseError::None);
        EXPECT_EQ(storage::set_keys(nullptr, 0, false), Status::Ok);  // a plaintext disk
        storage::set_policy_in_force(&view);  // before the rig's probe attaches the disk
    }
    ~Protected() { storage::set_policy_in_force(nullptr); }
};

void dma_write(Rig& r, u64 lba, std::vector<u8> const& data) {
    memcpy(r.dev.phys.data() + kBuf, data.data(), data.size());
    r.prd(kTable, {{static_cast<u32>(kBuf), static_cast<u16>(data.size()), kPrdEot}});
    r.dma(cmd::kWriteDmaExt, lba, static_cast<u16>(data.size() / 512), kTable, false);
    r.complete();
}

long writes(Rig& r) { return std::count(r.dev.commands.begin(), r.dev.commands.end(), cmd::kWriteDmaExt); }

}  // namespace

TEST(PolicyIde, DmaWriteChangingProtectedBytesIsAbortedAndNothingIsWritten) {
    Protected p({{20 * 512 + 64, 32, Action::Protect, "/usr/bin/passwd"}});
    Rig r;
    auto const before = disk_at(r, 16, 8 * 512);
    dma_write(r, 16, std::vector<u8>(8 * 512, 0xAB));  // sectors 16..23; sector 20 is refused
    EXPECT_EQ(writes(r), 0);
    EXPECT_EQ(disk_at(r, 16, 8 * 512), before);
    EXPECT_EQ(r.status() & (st::kErr | st::kBsy), st::kErr);
    EXPECT_EQ(r.in(kCmd + 1), st::kErrAbrt);
    EXPECT_TRUE(r.dev.logged("write to bytes the file-protection policy protects"));
    EXPECT_EQ(std::count(r.dev.commands.begin(), r.dev.commands.end(), cmd::kReadSectors), 1);  // sector 20 only
}

TEST(PolicyIde, DmaWriteLeavingProtectedBytesAsTheyAreReachesTheDisk) {
    Protected p({{20 * 512 + 64, 32, Action::Protect, "/etc/shadow"}});
    Rig r;
    auto data = std::vector<u8>(8 * 512, 0xCD);
    auto const cur = disk_at(r, 20, 512);
    memcpy(&data[4 * 512 + 64], &cur[64], 32);  // the inode-table block's other inodes change
    dma_write(r, 16, data);
    EXPECT_EQ(writes(r), 1);
    EXPECT_EQ(disk_at(r, 16, 8 * 512), data);
    EXPECT_EQ(r.status() & (st::kErr | st::kBsy), 0);
}

TEST(PolicyIde, DmaWritesAwayFromTheRangesAreNotReadFirst) {
    Protected p({{20 * 512, 512, Action::Protect, "/bin/ls"}});
    Rig r;
    auto const data = std::vector<u8>(4 * 512, 0x11);
    dma_write(r, 100, data);
    EXPECT_EQ(disk_at(r, 100, data.size()), data);
    EXPECT_EQ(std::count(r.dev.commands.begin(), r.dev.commands.end(), cmd::kReadSectors), 0);
}

TEST(PolicyIde, PioWriteTouchingARangeIsRefusedAtTheCommand) {
    Protected p({{3 * 512, 1, Action::Protect, "/boot/vmlinuz"}});
    Rig r;
    r.taskfile(2, 2, false);
    r.out(kCmd + 7, 1, cmd::kWriteSectors);
    EXPECT_EQ(std::count(r.dev.commands.begin(), r.dev.commands.end(), cmd::kWriteSectors), 0);
    EXPECT_EQ(r.status() & (st::kErr | st::kBsy), st::kErr);
    EXPECT_TRUE(r.dev.logged("PIO write to sectors the file-protection policy covers"));
}

namespace {
std::vector<std::string> g_pio_hits;
void pio_sink(storage::RuleHit const& h) { g_pio_hits.push_back(std::string(h.refused ? "refused " : "audited ") + h.path); }
}  // namespace

TEST(PolicyIde, PioRefusalNamesTheRuleAndPathInTheAuditLine) {
    Protected p({{3 * 512, 1, Action::Protect, "/boot/vmlinuz"}});
    g_pio_hits.clear();
    auto const saved = storage::audit_sink();
    storage::set_audit_sink(pio_sink);
    Rig r;
    r.taskfile(2, 2, false);
    r.out(kCmd + 7, 1, cmd::kWriteSectors);
    storage::set_audit_sink(saved);
    EXPECT_EQ(g_pio_hits, std::vector<std::string>{"refused /boot/vmlinuz"});
}

TEST(PolicyIde, PioWriteTouchingOnlyAnAuditRangeIsLoggedAndGoesThrough) {
    Protected p({{3 * 512, 1, Action::Audit, "/var/log/syslog"}});
    g_pio_hits.clear();
    auto const saved = storage::audit_sink();
    storage::set_audit_sink(pio_sink);
    Rig r;
    r.taskfile(2, 2, false);
    r.out(kCmd + 7, 1, cmd::kWriteSectors);
    storage::set_audit_sink(saved);
    EXPECT_EQ(std::count(r.dev.commands.begin(), r.dev.commands.end(), cmd::kWriteSectors), 1);
    EXPECT_EQ(g_pio_hits, std::vector<std::string>{"audited /var/log/syslog"});
}
