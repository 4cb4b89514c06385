// AoeBlock: synchronous sector I/O on the AoE initiator against the in-process fake target,
// through outages shorter and longer than the deadline.
#include <gtest/gtest.h>

#include "drivers/aoe_disk/aoe_disk_block.hpp"
#include "tests/unit/test_aoe_fake.hpp"

using namespace tv;
using namespace tv::aoe;
using namespace tv::aoe::test;
using tv::ata::AoeBlock;
using tv::ata::DiskFault;

namespace {

// The network as the monitor's FramePort poll would present it: every poll moves time on by
// 1 ms and delivers the target's answers, unless the target is down (frames vanish).
struct Net final : tv::ata::DiskPoller {
    Rig* rig;
    u64 down_from{~0ull}, down_until{0};
    u64 polls{0};
    explicit Net(Rig* r) : rig(r) {}
    bool down() const { return rig->clock.now >= down_from && rig->clock.now < down_until; }
    void poll() override {
        ++polls;
        rig->clock.now += 1000;
        if (down()) {
            rig->take_sent();
            return;
        }
        for (Bytes const& f : rig->exchange()) rig->deliver(f);
    }
};

struct Disk {
    Rig rig{20000};
    Net net{&rig};
    AoeBlock blk;
    explicit Disk(u64 timeout_us = 3'000'000) {
        rig.cfg.deadline_us = timeout_us;
        EXPECT_TRUE(ok(rig.init()));
        blk.init(&rig.ini, &rig.clock, &net, timeout_us);
        rig.ini.start();
        EXPECT_TRUE(blk.wait_ready(1'000'000));
    }
};

}  // namespace

TEST(AoeDiskBlock, ReadsAndWritesTheTarget) {
    Disk d;
    EXPECT_EQ(d.blk.sectors(), 20000u);
    std::vector<u8> buf(100 * 512);
    ASSERT_TRUE(d.blk.read(tv::Lba{50}, 100, buf.data()).ok());
    EXPECT_EQ(0, memcmp(buf.data(), d.rig.target.disk.data() + 50 * 512, buf.size()));
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<u8>(i * 13);
    ASSERT_TRUE(d.blk.write(tv::Lba{7000}, 100, buf.data()).ok());
    EXPECT_EQ(0, memcmp(buf.data(), d.rig.target.disk.data() + 7000 * 512, buf.size()));
    EXPECT_EQ(d.blk.read(tv::Lba{19999}, 2, buf.data()).fault, DiskFault::Range);
}

TEST(AoeDiskBlock, WriteSurvivesAShortOutage) {
    Disk d;
    std::vector<u8> buf(64 * 512, 0xC3);
    d.net.down_from = d.rig.clock.now;
    d.net.down_until = d.rig.clock.now + 1'500'000;  // half the deadline
    ASSERT_TRUE(d.blk.write(tv::Lba{300}, 64, buf.data()).ok());
    EXPECT_GE(d.rig.clock.now, d.net.down_until);
    EXPECT_EQ(0, memcmp(buf.data(), d.rig.target.disk.data() + 300 * 512, buf.size()));
    EXPECT_GT(d.rig.ini.counters().retransmits, 0u);
}

TEST(AoeDiskBlock, LongOutageTimesOutThenRecovers) {
    Disk d;
    std::vector<u8> buf(8 * 512, 0x5A);
    u64 const t0 = d.rig.clock.now;
    d.net.down_from = t0;
    d.net.down_until = t0 + 10'000'000;
    tv::ata::DiskResult r = d.blk.write(tv::Lba{10}, 8, buf.data());
    EXPECT_EQ(r.fault, DiskFault::TimedOut);
    u64 const waited = d.rig.clock.now - t0;
    EXPECT_GE(waited, 3'000'000u);
    EXPECT_LT(waited, 6'000'000u);
    d.rig.clock.now = d.net.down_until;
    EXPECT_TRUE(d.blk.write(tv::Lba{10}, 8, buf.data()).ok());
    EXPECT_EQ(d.blk.failures(), 1u);
}

TEST(AoeDiskBlock, SectorsPerFrameFollowTheMtu) {
    Disk d;
    // The fake target advertises 2 sectors per command (vblade at MTU 1500).
    EXPECT_EQ(d.rig.ini.sectors_per_frame(), 2u);
    std::vector<u8> buf(9 * 512);
    d.rig.target.seen.clear();
    ASSERT_TRUE(d.blk.read(tv::Lba{0}, 9, buf.data()).ok());
    for (auto const& c : d.rig.target.seen) EXPECT_LE(c.count, 2);
}
