// The taskfile a command runs with is the one the monitor checked (issue 12, item 9). With
// several CPUs another one can write the device, LBA and count registers between the
// monitor's read-back and the command byte; the fake's second writer does exactly that. The
// command must still run on the checked disk and sectors: never on a refused disk, never on
// other sectors than the ones encrypted for.
#include <gtest/gtest.h>

#include <string.h>

#include "tests/unit/test_ide_fake.hpp"

using namespace tv;
using namespace tv::ata;
using namespace idefake;

namespace {

void rewrite_lba28(Rig& r, u8 device, u8 lba_low) {
    r.dev.second_writer = [&r, device, lba_low] {
        r.dev.port_out(kCmd + 3, 1, lba_low);
        r.dev.port_out(kCmd + 6, 1, device);
    };
}

}  // namespace

TEST(IdeTaskfile, APioReadRunsOnTheCheckedSectorsWhenAnotherCpuRewritesTheLba) {
    use_key(512);
    Rig r;
    auto const plain = pattern(512, 21);
    write_disk(r, 100, xts(true, 100, plain, 512));
    r.taskfile(100, 1, false);
    rewrite_lba28(r, 0xE0, 5);
    r.out(kCmd + 7, 1, cmd::kReadSectors);
    EXPECT_EQ(r.dev.exec_lba, 100u);
    std::vector<u8> got;
    for (int i = 0; i < 256; ++i) {
        u32 const v = r.in(kCmd, 2);
        got.push_back(static_cast<u8>(v));
        got.push_back(static_cast<u8>(v >> 8));
    }
    EXPECT_EQ(got, plain);  // decrypted with sector 100's tweak, and sector 100's data
}

TEST(IdeTaskfile, ACommandChecksForTheMasterNeverRunsOnTheSlave) {
    use_key(512);
    Rig r;
    r.taskfile(100, 1, false);
    rewrite_lba28(r, 0xF0, 100);  // the slave: a disk the monitor may refuse
    r.out(kCmd + 7, 1, cmd::kReadSectors);
    EXPECT_EQ(r.dev.exec_device & ide::kDevSlave, 0);
}

TEST(IdeTaskfile, AnEncryptedPioWriteLandsOnTheCheckedSectorsOnly) {
    use_key(512);
    Rig r;
    auto const plain = pattern(512, 22);
    auto const before = disk_at(r, 0x1234, 512);
    r.taskfile(7, 1, true);
    r.dev.second_writer = [&r] {  // the high LBA bytes (HOB) and the low ones, as LBA48 takes them
        for (u8 reg = 3; reg <= 5; ++reg) r.dev.port_out(static_cast<u16>(kCmd + reg), 1, 0);
        r.dev.port_out(kCmd + 3, 1, 0x34);
        r.dev.port_out(kCmd + 4, 1, 0x12);
        r.dev.port_out(kCmd + 5, 1, 0);
    };
    r.out(kCmd + 7, 1, cmd::kWriteSectorsExt);
    for (size_t i = 0; i < plain.size(); i += 2) r.out(kCmd, 2, static_cast<u32>(plain[i] | plain[i + 1] << 8));
    EXPECT_EQ(r.dev.exec_lba, 7u);
    EXPECT_EQ(disk_at(r, 7, 512), xts(true, 7, plain, 512));
    EXPECT_EQ(disk_at(r, 0x1234, 512), before);
}

TEST(IdeTaskfile, ADmaCommandRunsWithTheTaskfileCheckedAtTheCommandWrite) {
    use_key(512);
    Rig r;
    auto const plain = pattern(1024, 23);
    write_disk(r, 40, xts(true, 40, plain, 512));
    r.prd(0x9000, {PrdEntry{0x20000, 1024, kPrdEot}});
    r.out(kBm + 4, 4, 0x9000);
    r.out(kBm, 1, ide::kBmToMemory);
    r.taskfile(40, 2, false);
    rewrite_lba28(r, 0xF0, 9);
    r.out(kCmd + 7, 1, cmd::kReadDma);
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    r.complete();
    EXPECT_EQ(r.dev.exec_lba, 40u);
    EXPECT_EQ(r.dev.exec_device & ide::kDevSlave, 0);
    EXPECT_EQ(guest_at(r, 0x20000, 1024), plain);
}

// A 16-bit OUT at the device register carries the command byte in its high half (issue 12,
// item 1 is how such an access reaches the channel at all): each byte goes to its register,
// so the command byte still meets the filter.
TEST(IdeTaskfile, ACommandByteInsideAWordWriteMeetsTheFilter) {
    use_key(512);
    Rig r;
    r.taskfile(100, 1, false);
    r.dev.commands.clear();  // the boot-time probe's IDENTIFYs
    u32 v = u32{cmd::kSecurityEraseUnit} << 8 | 0xE0;
    r.ch.access(IdeBlock::Command, ide::kDevice, false, 2, &v);
    EXPECT_EQ(r.dev.commands, std::vector<u8>{cmd::kCheckPower});  // refused, the stand-in ran
    v = u32{cmd::kReadSectors} << 8 | 0xE0;
    r.ch.access(IdeBlock::Command, ide::kDevice, false, 2, &v);
    EXPECT_EQ(r.dev.commands.back(), cmd::kReadSectors);
    EXPECT_EQ(r.dev.exec_lba, 100u);
}
