// The IDE mediator's PIO path and command filter against the fake device: sectors are
// decrypted before the guest sees a word and encrypted before the device gets one; refused
// commands never reach the device and look aborted to the guest.
#include <gtest/gtest.h>

#include <string.h>

#include "tests/unit/test_ide_fake.hpp"

using namespace tv;
using namespace tv::ata;
using namespace idefake;

namespace {

std::vector<u8> pio_read(Rig& r, u8 op, u64 lba, u16 count, u8 width) {
    r.taskfile(lba, count, op == cmd::kReadSectorsExt);
    r.out(kCmd + 7, 1, op);
    std::vector<u8> got;
    for (u32 i = 0; i < count * r.dev.ss / width; ++i) {
        u32 const v = r.in(kCmd, width);  // as REP INSW/INSD hands the hook one element at a time
        got.insert(got.end(), reinterpret_cast<u8 const*>(&v), reinterpret_cast<u8 const*>(&v) + width);
    }
    return got;
}

void pio_write(Rig& r, u8 op, u64 lba, std::vector<u8> const& data, u8 width) {
    u16 const count = static_cast<u16>(data.size() / r.dev.ss);
    r.taskfile(lba, count, op == cmd::kWriteSectorsExt);
    r.out(kCmd + 7, 1, op);
    for (size_t i = 0; i < data.size(); i += width) {
        u32 v = 0;
        memcpy(&v, data.data() + i, width);
        r.out(kCmd, width, v);
    }
}

// Guest data port accesses of the given widths, cycled, until `bytes` have moved.
std::vector<u8> pio_read_mixed(Rig& r, u8 op, u64 lba, u16 count, std::vector<u8> const& widths) {
    r.taskfile(lba, count, op == cmd::kReadSectorsExt);
    r.out(kCmd + 7, 1, op);
    std::vector<u8> got;
    for (size_t i = 0; got.size() < size_t{count} * r.dev.ss; ++i) {
        u8 const w = got.size() + 4 > size_t{count} * r.dev.ss ? 2 : widths[i % widths.size()];
        u32 const v = r.in(kCmd, w);
        got.insert(got.end(), reinterpret_cast<u8 const*>(&v), reinterpret_cast<u8 const*>(&v) + w);
    }
    return got;
}

void pio_write_mixed(Rig& r, u8 op, u64 lba, std::vector<u8> const& data, std::vector<u8> const& widths) {
    r.taskfile(lba, static_cast<u16>(data.size() / r.dev.ss), op == cmd::kWriteSectorsExt);
    r.out(kCmd + 7, 1, op);
    for (size_t i = 0, at = 0; at < data.size(); ++i) {
        u8 const w = at + 4 > data.size() ? 2 : widths[i % widths.size()];
        u32 v = 0;
        memcpy(&v, data.data() + at, w);
        r.out(kCmd, w, v);
        at += w;
    }
}

// 2047 words, then a dword that straddles the end of a 4096-byte sector (issue 12, item 12).
std::vector<u8> straddle_4k() {
    std::vector<u8> w(2047, 2);
    w.push_back(4);
    return w;
}

}  // namespace

TEST(IdePio, ADwordAcrossTheEndOfA4KiBSectorWritesBothSectorsExactly) {
    use_key(4096);
    Rig r{4096};
    auto const plain = pattern(2 * 4096, 14);
    pio_write_mixed(r, cmd::kWriteSectorsExt, 5, plain, straddle_4k());
    EXPECT_EQ(disk_at(r, 5, plain.size()), xts(true, 5, plain, 4096));
    EXPECT_EQ(r.ch.counters().pio_sectors, 2u);
}

TEST(IdePio, ADwordAcrossTheEndOfA4KiBSectorReadsBothSectorsExactly) {
    use_key(4096);
    Rig r{4096};
    auto const plain = pattern(2 * 4096, 15);
    write_disk(r, 9, xts(true, 9, plain, 4096));
    EXPECT_EQ(pio_read_mixed(r, cmd::kReadSectorsExt, 9, 2, straddle_4k()), plain);
}

TEST(IdePio, EveryMixOfWordAndDwordAccessesMovesTheSameBytes) {
    use_key(512);
    for (auto const& widths : std::vector<std::vector<u8>>{{2, 4}, {4, 2, 2}, {2, 2, 2, 4}, {4, 4, 2}}) {
        Rig r;
        auto const plain = pattern(3 * 512, 16);
        pio_write_mixed(r, cmd::kWriteSectors, 20, plain, widths);
        EXPECT_EQ(disk_at(r, 20, plain.size()), xts(true, 20, plain, 512)) << widths.size();
        EXPECT_EQ(pio_read_mixed(r, cmd::kReadSectors, 20, 3, widths), plain) << widths.size();
    }
}

TEST(IdePio, ReadSectorsHandsTheGuestPlaintextWordByWord) {
    use_key(512);
    Rig r;
    auto const plain = pattern(3 * 512, 11);
    write_disk(r, 63, xts(true, 63, plain, 512));
    EXPECT_EQ(pio_read(r, cmd::kReadSectors, 63, 3, 2), plain);
    EXPECT_EQ(pio_read(r, cmd::kReadSectorsExt, 63, 3, 4), plain);  // 32-bit data port accesses
    EXPECT_EQ(r.ch.counters().pio_sectors, 6u);
}

TEST(IdePio, WriteSectorsSendsCiphertextOnly) {
    use_key(512);
    Rig r;
    auto const plain = pattern(2 * 512, 12);
    pio_write(r, cmd::kWriteSectors, 7, plain, 2);
    EXPECT_EQ(disk_at(r, 7, plain.size()), xts(true, 7, plain, 512));
    pio_write(r, cmd::kWriteSectorsExt, 900, plain, 4);
    EXPECT_EQ(disk_at(r, 900, plain.size()), xts(true, 900, plain, 512));
}

TEST(IdePio, FourKiBSectorsAreOneDataUnitEach) {
    use_key(4096);
    Rig r{4096};
    auto const plain = pattern(2 * 4096, 13);
    pio_write(r, cmd::kWriteSectorsExt, 3, plain, 2);
    EXPECT_EQ(disk_at(r, 3, plain.size()), xts(true, 3, plain, 4096));
    EXPECT_EQ(pio_read(r, cmd::kReadSectorsExt, 3, 2, 2), plain);
}

TEST(IdeCommands, SecurityEraseNeverReachesTheDeviceAndLooksAborted) {
    use_key(512);
    Rig r;
    for (u8 op : {cmd::kSecurityErasePrepare, cmd::kSecurityEraseUnit, cmd::kDataSetManagement,
                  cmd::kDownloadMicrocode, cmd::kSetMax, u8{0xFF}}) {
        r.dev.commands.clear();
        r.out(kCmd + 7, 1, op);
        EXPECT_EQ(r.dev.commands, std::vector<u8>{cmd::kCheckPower}) << int(op);
        EXPECT_TRUE(r.dev.irq);  // the stand-in completes and interrupts like the real command would
        EXPECT_EQ(r.in(kCtrl) & 0xC9, st::kDrdy | st::kErr);
        EXPECT_EQ(r.in(kCmd + 1), st::kErrAbrt);
        EXPECT_EQ(r.status() & 0xC9, st::kDrdy | st::kErr);
        char want[64];
        snprintf(want, sizeof want, "refused %s (%#04x)", ata_command_name(op), op);
        EXPECT_TRUE(r.dev.logged(want)) << want;
    }
    // The next allowed command clears the abort.
    r.out(kCmd + 7, 1, cmd::kFlushCache);
    EXPECT_EQ(r.status() & st::kErr, 0);
}

TEST(IdeCommands, UnlistedDiskRefusesMediaButStillIdentifies) {
    use_key(512, "SOMEOTHERDISK");
    Rig r;
    EXPECT_EQ(r.ch.crypt(0).policy(), DiskPolicy::Deny);
    EXPECT_TRUE(r.dev.logged("disk 'QM00001', 512-byte sectors: refused"));
    r.dev.commands.clear();
    r.taskfile(0, 1, false);
    r.out(kCmd + 7, 1, cmd::kReadSectors);
    EXPECT_EQ(r.dev.commands, std::vector<u8>{cmd::kCheckPower});
    EXPECT_TRUE(r.dev.logged("refused READ SECTORS (0x20): the disk has no key"));
    r.out(kCmd + 7, 1, cmd::kIdentify);
    EXPECT_EQ(r.dev.commands.back(), cmd::kIdentify);
}

TEST(IdeCommands, DiskIsAttachedAtTheGuestsIdentifyWhenNotProbed) {
    use_key(512);
    Rig r{512, false};
    EXPECT_FALSE(r.ch.crypt(0).allowed(tv::Lba{0}, 1));  // configured disks, none identified yet: refused
    r.out(kCmd + 6, 1, 0xA0);
    r.out(kCmd + 7, 1, cmd::kIdentify);
    u16 id[256];
    for (auto& w : id) w = static_cast<u16>(r.in(kCmd, 2));
    EXPECT_EQ(id[10], ('Q' << 8) | 'M');  // the guest gets IDENTIFY unchanged
    EXPECT_TRUE(r.ch.crypt(0).active());
    auto const plain = pattern(512, 14);
    write_disk(r, 1, xts(true, 1, plain, 512));
    EXPECT_EQ(pio_read(r, cmd::kReadSectors, 1, 1, 2), plain);
}

TEST(IdeCommands, ChsAddressingOfMediaIsRefused) {
    use_key(512);
    Rig r;
    r.taskfile(5, 1, false);
    r.out(kCmd + 6, 1, 0xA0);  // LBA bit clear: cylinder/head/sector
    r.out(kCmd + 7, 1, cmd::kReadSectors);
    EXPECT_TRUE(r.dev.logged("CHS addressing"));
}

TEST(IdeCommands, ChsAddressingPassesOnADiskThatIsNotEncrypted) {
    ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok);  // no [disk.*]: pass-through
    Rig r;
    r.taskfile(5, 1, false);
    r.out(kCmd + 6, 1, 0xA0);  // LBA bit clear: cylinder/head/sector, as old BIOSes read
    r.out(kCmd + 7, 1, cmd::kReadSectors);
    EXPECT_FALSE(r.dev.logged("CHS addressing"));
    EXPECT_FALSE(r.dev.logged("refused"));
}

TEST(IdeCommands, SoftwareResetEndsTheAbortedState) {
    use_key(512);
    Rig r;
    r.out(kCmd + 7, 1, cmd::kSecurityEraseUnit);
    EXPECT_TRUE(r.status() & st::kErr);
    r.out(kCtrl, 1, ide::kCtlSrst);
    r.out(kCtrl, 1, 0);
    EXPECT_FALSE(r.status() & st::kErr);
}

TEST(IdeCommands, WithoutAnyConfiguredDiskEverythingAllowedPassesUnencrypted) {
    ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok);
    Rig r;
    auto const plain = pattern(512, 15);
    pio_write(r, cmd::kWriteSectors, 2, plain, 2);
    EXPECT_EQ(disk_at(r, 2, 512), plain);
    EXPECT_EQ(pio_read(r, cmd::kReadSectors, 2, 1, 2), plain);
}
