// The emulated ATA disk as a guest driver sees it: registers, IDENTIFY, PIO and DMA, errors.
#include <gtest/gtest.h>

#include "tests/unit/test_aoe_disk_fake.hpp"

using namespace aoedisk;

namespace {

constexpr IdeBlock kCmdB = IdeBlock::Command, kCtl = IdeBlock::Control;

std::string ata_string(std::vector<u8> const& id, size_t word, size_t words) {
    std::string s;
    for (size_t i = 0; i < words * 2; ++i) s.push_back(static_cast<char>(id[2 * word + (i ^ 1)]));
    return s;
}

u16 word(std::vector<u8> const& id, size_t w) { return static_cast<u16>(id[2 * w] | id[2 * w + 1] << 8); }

}  // namespace

TEST(AoeDiskDevice, SoftResetGivesAtaSignature) {
    Rig r;
    r.lba28(0x123456, 9);
    r.out(kCtl, 0, 0x04);  // SRST
    EXPECT_EQ(r.in(kCtl, 0) & 0x80, 0x80u);
    r.out(kCtl, 0, 0x00);
    EXPECT_EQ(r.status(), 0x50);
    EXPECT_EQ(r.error(), 0x01);
    EXPECT_EQ(r.in(kCmdB, 2), 1u);
    EXPECT_EQ(r.in(kCmdB, 3), 1u);
    EXPECT_EQ(r.in(kCmdB, 4), 0u);
    EXPECT_EQ(r.in(kCmdB, 5), 0u);
}

TEST(AoeDiskDevice, SlaveIsAbsent) {
    Rig r;
    r.out(kCmdB, 6, 0xB0);
    r.out(kCmdB, 2, 0x55);
    r.out(kCmdB, 3, 0xAA);
    EXPECT_EQ(r.in(kCmdB, 2), 0u);
    EXPECT_EQ(r.in(kCmdB, 3), 0u);
    EXPECT_EQ(r.status(), 0u);
    EXPECT_EQ(r.in(kCtl, 0), 0u);
    r.command(0xEC);
    EXPECT_EQ(r.env.irqs, 0);
    r.out(kCmdB, 6, 0xA0);
    EXPECT_EQ(r.in(kCmdB, 2), 0x55u);  // the master latched the same writes
}

TEST(AoeDiskDevice, IdentifyDescribesTheRemoteDisk) {
    Rig r(0x12345678);
    r.out(kCmdB, 6, 0xA0);
    r.command(0xEC);
    EXPECT_EQ(r.status(), 0x58);
    EXPECT_EQ(r.env.irqs, 1);
    std::vector<u8> id = r.read_pio(512);
    EXPECT_EQ(r.status(), 0x50);
    EXPECT_EQ(word(id, 0), 0x0040);
    EXPECT_EQ(word(id, 60) | word(id, 61) << 16, 0x0FFFFFFF);
    EXPECT_EQ(word(id, 100) | word(id, 101) << 16, 0x12345678);
    EXPECT_EQ(word(id, 102), 0);
    EXPECT_TRUE(word(id, 83) & 0x0400);   // LBA48
    EXPECT_TRUE(word(id, 49) & 0x0300);   // LBA and DMA
    EXPECT_EQ(word(id, 63) & 0x07, 0x07);  // MWDMA 0-2
    EXPECT_EQ(ata_string(id, 27, 20).substr(0, 19), "AoE e1.2 thinvisor ");
    EXPECT_EQ(ata_string(id, 10, 10).substr(0, 16), "AOEAB0000-E1.2  ");
    u8 sum = 0;
    for (u8 b : id) sum = static_cast<u8>(sum + b);
    EXPECT_EQ(sum, 0);
    EXPECT_EQ(id[510], 0xA5);
}

TEST(AoeDiskDevice, SetFeaturesModeShowsInIdentify) {
    Rig r;
    r.out(kCmdB, 6, 0xA0);
    r.out(kCmdB, 1, 0x03);
    r.out(kCmdB, 2, 0x22);  // MWDMA2
    r.command(0xEF);
    EXPECT_EQ(r.status(), 0x50);
    r.command(0xEC);
    std::vector<u8> id = r.read_pio(512);
    EXPECT_EQ(word(id, 63), 0x0407);
    r.out(kCmdB, 1, 0x03);
    r.out(kCmdB, 2, 0x77);
    r.command(0xEF);
    EXPECT_EQ(r.status(), 0x41);
    EXPECT_EQ(r.error(), 0x04);
}

TEST(AoeDiskDevice, PioRead28AcrossChunks) {
    Rig r;
    r.lba28(100, 0);  // 256 sectors... plus a second command below for the chunk edge
    r.command(0x20);
    EXPECT_EQ(r.env.irqs, 1);
    std::vector<u8> got = r.read_pio(256 * 512);
    EXPECT_EQ(0, memcmp(got.data(), r.blk.disk.data() + 100 * 512, got.size()));
    EXPECT_EQ(r.env.irqs, 256);  // one per DRQ block (single sectors)
    EXPECT_EQ(r.status(), 0x50);
    r.lba48(7000, 300);  // crosses the 256-sector chunk
    r.command(0x24);
    got = r.read_pio(300 * 512);
    EXPECT_EQ(0, memcmp(got.data(), r.blk.disk.data() + 7000 * 512, got.size()));
    EXPECT_EQ(r.blk.reads, 3);
    EXPECT_EQ(r.status(), 0x50);
}

TEST(AoeDiskDevice, PioWriteAndMultiple) {
    Rig r;
    std::vector<u8> data(40 * 512);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<u8>(i * 7 + 3);
    r.lba28(50, 3);
    r.command(0x30);
    EXPECT_EQ(r.status(), 0x58);
    EXPECT_EQ(r.env.irqs, 0);  // no interrupt before the first block
    r.write_pio(data.data(), 3 * 512);
    EXPECT_EQ(r.status(), 0x50);
    EXPECT_EQ(r.env.irqs, 3);
    EXPECT_EQ(0, memcmp(r.blk.disk.data() + 50 * 512, data.data(), 3 * 512));

    r.command(0xC5);  // WRITE MULTIPLE before SET MULTIPLE
    EXPECT_EQ(r.status(), 0x41);
    r.out(kCmdB, 2, 8);
    r.command(0xC6);
    EXPECT_EQ(r.status(), 0x50);
    r.env.irqs = 0;
    r.lba48(6000, 40);
    r.command(0x39);
    r.write_pio(data.data(), data.size());
    EXPECT_EQ(r.env.irqs, 5);  // 40 sectors in blocks of 8
    EXPECT_EQ(0, memcmp(r.blk.disk.data() + 6000 * 512, data.data(), data.size()));
    r.env.irqs = 0;
    r.lba28(6000, 40);
    r.command(0xC4);
    std::vector<u8> back = r.read_pio(data.size());
    EXPECT_EQ(back, data);
    EXPECT_EQ(r.env.irqs, 5);
}

TEST(AoeDiskDevice, DmaReadAndWriteThroughPrdTable) {
    Rig r;
    r.prd(0x1000, {{0x20000, 0x1000}, {0x40000, 0x10000}, {0x80000, 0x200}});
    r.lba48(1000, (0x1000 + 0x10000 + 0x200) / 512);
    r.command(0x25);
    EXPECT_EQ(r.env.irqs, 0);  // held until the engine starts
    r.bm_start(true);
    EXPECT_EQ(r.env.irqs, 1);
    EXPECT_EQ(r.bm_status() & 0x07, 0x04);
    EXPECT_EQ(r.status(), 0x50);
    u8 const* d = r.blk.disk.data() + 1000 * 512;
    EXPECT_EQ(0, memcmp(r.env.phys.data() + 0x20000, d, 0x1000));
    EXPECT_EQ(0, memcmp(r.env.phys.data() + 0x40000, d + 0x1000, 0x10000));
    EXPECT_EQ(0, memcmp(r.env.phys.data() + 0x80000, d + 0x11000, 0x200));
    r.bm_stop();
    r.out(IdeBlock::BusMaster, 2, 0x04);
    EXPECT_EQ(r.bm_status() & 0x07, 0);

    // Write: the engine started first, then the command (both orders exist).
    for (int i = 0; i < 0x3000; ++i) r.env.phys[0x90000 + i] = static_cast<u8>(i ^ 0x5A);
    r.prd(0x2000, {{0x90000, 0x3000}});
    r.bm_start(false);
    r.lba28(3000, 0x3000 / 512);
    r.command(0xCA);
    EXPECT_EQ(r.env.irqs, 2);
    EXPECT_EQ(0, memcmp(r.blk.disk.data() + 3000 * 512, r.env.phys.data() + 0x90000, 0x3000));
    EXPECT_EQ(r.disk->counters().dma_commands, 2u);
}

TEST(AoeDiskDevice, DmaLargerThanOneChunk) {
    Rig r;
    r.prd(0x1000, {{0x100000, 0x10000}, {0x110000, 0x10000}, {0x120000, 0x10000}});
    r.lba48(10, 384);
    r.command(0x25);
    r.bm_start(true);
    EXPECT_EQ(r.blk.reads, 2);
    EXPECT_EQ(0, memcmp(r.env.phys.data() + 0x100000, r.blk.disk.data() + 10 * 512, 384 * 512));
}

TEST(AoeDiskDevice, PrdIntoMonitorMemoryIsRefused) {
    Rig r;
    r.prd(0x1000, {{0x2FF000, 0x2000}});  // runs into the hidden range
    r.lba28(0, 16);
    r.command(0xC8);
    r.bm_start(true);
    EXPECT_EQ(r.status(), 0x41);
    EXPECT_EQ(r.error(), 0x04);
    EXPECT_EQ(r.bm_status() & 0x04, 0x04);
    EXPECT_EQ(r.env.irqs, 1);
    EXPECT_EQ(r.blk.reads, 0);
    EXPECT_TRUE(r.env.logged("PRD region outside guest RAM"));
    // The table itself in monitor memory is refused too.
    r.bm_stop();
    r.out(IdeBlock::BusMaster, 4, 0x300100, 4);
    r.command(0xC8);
    r.bm_start(true);
    EXPECT_TRUE(r.env.logged("PRD table outside guest RAM"));
}

TEST(AoeDiskDevice, PrdRewrittenAfterStartHasNoEffect) {
    Rig r;
    r.prd(0x1000, {{0x20000, 0x1000}});
    r.lba28(0, 8);
    r.command(0xC8);
    r.bm_start(true);
    // The guest points its table elsewhere once the engine runs: nothing more happens.
    r.prd(0x1000, {{0x60000, 0x1000}});
    r.bm_stop();
    EXPECT_EQ(r.blk.reads, 1);
    EXPECT_EQ(0, memcmp(r.env.phys.data() + 0x20000, r.blk.disk.data(), 0x1000));
    for (int i = 0; i < 0x1000; ++i) ASSERT_EQ(r.env.phys[0x60000 + i], 0);
}

TEST(AoeDiskDevice, DirectionMismatchAborts) {
    Rig r;
    r.prd(0x1000, {{0x20000, 0x1000}});
    r.lba28(0, 8);
    r.command(0xCA);   // write
    r.bm_start(true);  // but to memory
    EXPECT_EQ(r.status(), 0x41);
    EXPECT_EQ(r.blk.writes, 0);
}

TEST(AoeDiskDevice, UnknownCommandAborts) {
    Rig r;
    r.out(kCmdB, 6, 0xA0);
    r.command(0xA1);  // IDENTIFY PACKET: not an ATAPI device
    EXPECT_EQ(r.status(), 0x41);
    EXPECT_EQ(r.error(), 0x04);
    EXPECT_EQ(r.env.irqs, 1);
    r.command(0x92);  // DOWNLOAD MICROCODE
    EXPECT_EQ(r.error(), 0x04);
    EXPECT_TRUE(r.env.logged("command 0x92 refused"));
    r.command(0xE7);  // FLUSH CACHE
    EXPECT_EQ(r.status(), 0x50);
    r.out(kCmdB, 6, 0x00);  // CHS
    r.command(0x20);
    EXPECT_EQ(r.status(), 0x41);
    EXPECT_TRUE(r.env.logged("CHS"));
}

TEST(AoeDiskDevice, PastTheEndIsIdnf) {
    Rig r(1000);
    r.lba28(999, 2);
    r.command(0x20);
    EXPECT_EQ(r.status(), 0x41);
    EXPECT_EQ(r.error(), 0x10);
    EXPECT_EQ(r.blk.reads, 0);
}

TEST(AoeDiskDevice, TargetTimeoutIsCleanAtaError) {
    Rig r;
    r.blk.fault = DiskFault::TimedOut;
    r.prd(0x1000, {{0x20000, 0x1000}});
    r.lba28(77, 8);
    r.command(0xCA);
    r.bm_start(false);
    EXPECT_EQ(r.status(), 0x41);
    EXPECT_EQ(r.error(), 0x04);
    EXPECT_EQ(r.bm_status() & 0x07, 0x04);  // interrupt, engine stopped, no bus error
    EXPECT_EQ(r.env.irqs, 1);
    EXPECT_TRUE(r.env.logged("target timed out"));
    EXPECT_EQ(r.in(kCmdB, 3), 77u);  // the failing sector in the LBA registers
    // PIO read: the command's own interrupt reports it.
    r.lba28(5, 1);
    r.command(0x20);
    EXPECT_EQ(r.status(), 0x41);
    EXPECT_EQ(r.env.irqs, 2);
    // Once the target is back, the next command works.
    r.blk.fault = DiskFault::None;
    r.lba28(5, 1);
    r.command(0x20);
    EXPECT_EQ(r.status(), 0x58);
}

TEST(AoeDiskDevice, DeviceErrorPassesTheTargetsError) {
    Rig r;
    r.blk.fault = DiskFault::DeviceError;  // the fake reports UNC
    r.lba28(5, 1);
    r.command(0x20);
    EXPECT_EQ(r.status(), 0x41);
    EXPECT_EQ(r.error(), 0x40);
}

TEST(AoeDiskDevice, NienSuppressesInterrupts) {
    Rig r;
    r.out(kCtl, 0, 0x02);
    r.lba28(0, 1);
    r.command(0x20);
    EXPECT_EQ(r.env.irqs, 0);
    EXPECT_EQ(r.status(), 0x58);
    (void)r.read_pio(512);
    EXPECT_EQ(r.status(), 0x50);
}

TEST(AoeDiskDevice, HobReadsPreviousValues) {
    Rig r;
    r.lba48(0x0000123456789Aull, 0x0102);
    r.out(kCtl, 0, 0x80);
    EXPECT_EQ(r.in(kCmdB, 2), 0x01u);
    EXPECT_EQ(r.in(kCmdB, 3), 0x34u);
    r.out(kCtl, 0, 0x00);
    EXPECT_EQ(r.in(kCmdB, 3), 0x9Au);
}

TEST(AoeDiskDevice, WideBusMasterAccess) {
    Rig r;
    r.out(IdeBlock::BusMaster, 4, 0x12345679, 4);
    EXPECT_EQ(r.in(IdeBlock::BusMaster, 4, 4), 0x12345678u);
    r.out(IdeBlock::BusMaster, 2, 0x60);
    EXPECT_EQ(r.bm_status(), 0x60);
}
