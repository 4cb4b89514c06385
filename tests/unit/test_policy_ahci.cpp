// The file-protection rule on AHCI (drivers/ahci/ahci_protect.cpp asking storage/): a write
// the policy touches is judged against its sectors read from the device first, in the write's
// own slot and protocol; a refusal is an aborted NOP with nothing written.
#include <algorithm>

#include "storage/write_rule.hpp"
#include "test_policy_keys.hpp"
#include "tests/unit/test_ahci_fake.hpp"

using namespace tv;
using namespace tv::ata;
using namespace tv::ata::ahci;
using namespace tv::ata::ahci::test;
using tv::policy::Action;

namespace {

struct Protected {
    std::vector<u8> bytes;
    policy::PolicyView view;
    explicit Protected(std::vector<policy::Range> const& ranges) {
        bytes = policy_test::make_policy(ranges.data(), static_cast<u32>(ranges.size()), 2, "QM00001", nullptr);
        EXPECT_EQ(policy::parse_policy(bytes.data(), bytes.size(), view), policy::ParseError::None);
        EXPECT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok);  // a plaintext disk
        storage::set_policy_in_force(&view);  // before IDENTIFY attaches the disk
    }
    ~Protected() { storage::set_policy_in_force(nullptr); }
};

struct Rig {
    Rig() : port_mem{kPortDmaBytes}, prd_mem{kPortPrdBytes}, pool_mem{64 * 4096} {
        pool.init(pool_mem.dma(), 64);
        hba.init(&m, &pool);
        EXPECT_TRUE(hba.attach_port(0, port_mem.dma(), reinterpret_cast<PrdEntry*>(prd_mem.ptr)));
        g.start();
        g.identify();
    }
    FakeMachine m;
    MonitorMemory port_mem, prd_mem, pool_mem;
    BouncePool pool;
    AhciHba hba;
    GuestDriver g{m, hba};
    std::vector<u8> disk(u64 lba, size_t n) { return {&m.disk[lba * 512], &m.disk[lba * 512] + n}; }
    // The fake device runs the monitor's read when the monitor first polls for it.
    void device_answers_reads(bool ncq, u32 s) {
        m.on_read(port_reg(0, kPxCi), true, [this, ncq, s] {
            m.run();
            if (ncq) m.finish_ncq(1u << s);
        });
    }
    // A write of data at lba in slot s (NCQ or WRITE DMA EXT), run to completion.
    void write(u32 s, bool ncq, u64 lba, std::vector<u8> const& data) {
        memcpy(&m.ram[GuestDriver::kBuf], data.data(), data.size());
        u16 const n = static_cast<u16>(data.size() / 512);
        if (ncq) g.ncq(s, true, lba, n, GuestDriver::kBuf);
        else g.build(s, cmd::kWriteDmaExt, lba, n, GuestDriver::kBuf, static_cast<u32>(data.size()), true);
        device_answers_reads(ncq, s);
        g.issue(1u << s, ncq);
        m.run();
        if (ncq) m.finish_ncq(1u << s);
    }
    long count(u8 command) const { return std::count(m.executed.begin(), m.executed.end(), command); }
};

}  // namespace

TEST(PolicyAhci, WriteLeavingProtectedBytesAsTheyAreReachesTheDisk) {
    for (bool ncq : {false, true}) {
        Protected p({{20 * 512 + 64, 32, Action::Protect, "/etc/shadow"}});
        Rig r;
        auto data = std::vector<u8>(8 * 512, 0xCD);
        auto const cur = r.disk(20, 512);
        memcpy(&data[4 * 512 + 64], &cur[64], 32);  // the block's other inodes change, not this one
        r.write(3, ncq, 16, data);
        EXPECT_EQ(r.disk(16, data.size()), data) << (ncq ? "NCQ" : "WRITE DMA EXT");
        EXPECT_EQ(r.count(ncq ? cmd::kReadFpdma : cmd::kReadDmaExt), 1) << "read first, in the write's protocol";
        EXPECT_TRUE(r.m.refusals.empty());
        EXPECT_EQ(r.g.ci(), 0u);
    }
}

TEST(PolicyAhci, WriteChangingProtectedBytesIsAbortedAndNothingIsWritten) {
    for (bool ncq : {false, true}) {
        Protected p({{20 * 512 + 64, 32, Action::Protect, "/usr/bin/passwd"}});
        Rig r;
        auto const before = r.disk(16, 8 * 512);
        r.write(4, ncq, 16, std::vector<u8>(8 * 512, 0xAB));
        EXPECT_EQ(r.disk(16, 8 * 512), before) << (ncq ? "NCQ" : "WRITE DMA EXT");
        ASSERT_EQ(r.m.refusals.size(), 1u);
        EXPECT_EQ(r.m.refusals[0].why, "write to bytes the file-protection policy protects");
        EXPECT_EQ(r.count(cmd::kNop), 1) << "the guest sees the device abort a NOP";
    }
}

TEST(PolicyAhci, DiscardPutsTheProtectedBytesBackAndWritesTheRest) {
    Protected p({{8 * 512, 16, Action::Discard, "/boot/grub/grub.cfg"}});
    Rig r;
    auto const cur = r.disk(8, 512);
    auto data = std::vector<u8>(2 * 512, 0x77);
    r.write(0, false, 8, data);
    auto want = data;
    memcpy(&want[0], &cur[0], 16);
    EXPECT_EQ(r.disk(8, 1024), want);
    EXPECT_TRUE(r.m.refusals.empty());
}

TEST(PolicyAhci, WritesAwayFromTheRangesAreNotReadFirst) {
    Protected p({{20 * 512, 512, Action::Protect, "/bin/ls"}});
    Rig r;
    auto const data = std::vector<u8>(4 * 512, 0x11);
    r.write(1, false, 100, data);
    EXPECT_EQ(r.disk(100, data.size()), data);
    EXPECT_EQ(r.count(cmd::kReadDmaExt), 0);
}

TEST(PolicyAhci, ADeviceThatCannotReadTheSectorsFailsClosed) {
    Protected p({{20 * 512 + 64, 32, Action::Protect, "/etc/shadow"}});
    Rig r;
    auto data = std::vector<u8>(8 * 512, 0xCD);
    auto const cur = r.disk(20, 512);
    memcpy(&data[4 * 512 + 64], &cur[64], 32);  // unchanged, but the read fails
    auto const before = r.disk(16, data.size());
    memcpy(&r.m.ram[GuestDriver::kBuf], data.data(), data.size());
    r.g.build(2, cmd::kWriteDmaExt, 16, 8, GuestDriver::kBuf, static_cast<u32>(data.size()), true);
    r.m.on_read(port_reg(0, kPxCi), true, [&r] {  // the read ends with a task-file error
        r.m.port(kPxTfd) = 0x0441;
        r.m.port(kPxIs) |= 1u << 30;
    });
    r.g.issue(1u << 2);
    EXPECT_EQ(r.disk(16, data.size()), before);
    ASSERT_EQ(r.m.refusals.size(), 1u);
    EXPECT_EQ(r.m.refusals[0].why, "write to bytes the file-protection policy protects");
}
