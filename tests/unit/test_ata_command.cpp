// The ATA allow-list decoder: what a guest may send through the mediators, and how each
// command's transfer is understood.
#include <gtest/gtest.h>

#include "drivers/ata/ata_command.hpp"

using namespace tv;
using namespace tv::ata;

namespace {

AtaCommand decode_ok(u8 command, u16 features, u16 count, u64 lba, bool ext = true) {
    AtaCommand c{};
    EXPECT_TRUE(ata_decode(command, features, count, lba, ext, &c)) << ata_command_name(command);
    return c;
}

bool refused(u8 command, u16 features = 0, u16 count = 1) {
    AtaCommand c{};
    return !ata_decode(command, features, count, 0, true, &c);
}

}  // namespace

TEST(AtaDecode, ReadDmaExtUsesSixteenBitCountAndFortyEightBitLba) {
    AtaCommand c = decode_ok(cmd::kReadDmaExt, 0, 0x0102, 0x1234'5678'9ABCull);
    EXPECT_TRUE(c.lba48);
    EXPECT_EQ(c.count, 0x0102u);
    EXPECT_EQ(c.lba.raw, 0x1234'5678'9ABCull);
    EXPECT_EQ(c.dir, Dir::Read);
    EXPECT_EQ(c.proto, Proto::Dma);
    EXPECT_TRUE(c.media);
}

TEST(AtaDecode, ZeroCountMeans65536ForExtAnd256ForTwentyEightBit) {
    EXPECT_EQ(decode_ok(cmd::kWriteDmaExt, 0, 0, 0).count, 65536u);
    EXPECT_EQ(decode_ok(cmd::kWriteDma, 0, 0, 0).count, 256u);
    EXPECT_EQ(decode_ok(cmd::kReadSectors, 0, 0x100, 0).count, 256u);  // only bits 7:0 count
}

TEST(AtaDecode, TwentyEightBitCommandsIgnoreHighRegisterBytes) {
    AtaCommand c = decode_ok(cmd::kReadSectors, 0xFF00, 0x0503, 0xFF'FFFF'1234'5678ull);
    EXPECT_FALSE(c.lba48);
    EXPECT_EQ(c.lba.raw, 0x0234'5678ull);
    EXPECT_EQ(c.count, 3u);
    EXPECT_EQ(c.features, 0u);
    EXPECT_EQ(c.proto, Proto::Pio);
    EXPECT_EQ(c.dir, Dir::Read);
}

TEST(AtaDecode, ExtCommandWithoutCapturedHighBytesTakesThemAsZero) {
    AtaCommand c = decode_ok(cmd::kReadSectorsExt, 0, 0x0203, 0xAA'BBCC'DDEEFFull, false);
    EXPECT_EQ(c.count, 3u);
    EXPECT_EQ(c.lba.raw, 0xDDEEFFull);
}

TEST(AtaDecode, FpdmaTakesCountFromFeaturesAndLeavesTheTagInCount) {
    AtaCommand c = decode_ok(cmd::kWriteFpdma, 16, 5 << 3, 1000);
    EXPECT_EQ(c.count, 16u);
    EXPECT_EQ(c.proto, Proto::Fpdma);
    EXPECT_EQ(c.dir, Dir::Write);
    EXPECT_TRUE(c.media);
    EXPECT_EQ(decode_ok(cmd::kReadFpdma, 0, 0, 0).count, 65536u);
}

TEST(AtaDecode, PioWritesAndMultipleAreMedia) {
    for (u8 op : {cmd::kWriteSectors, cmd::kWriteSectorsExt, cmd::kWriteMultiple, cmd::kWriteMultipleExt}) {
        AtaCommand c = decode_ok(op, 0, 8, 0);
        EXPECT_EQ(c.dir, Dir::Write) << ata_command_name(op);
        EXPECT_EQ(c.proto, Proto::Pio);
        EXPECT_TRUE(c.media);
    }
    for (u8 op : {cmd::kReadMultiple, cmd::kReadMultipleExt}) EXPECT_EQ(decode_ok(op, 0, 8, 0).dir, Dir::Read);
}

TEST(AtaDecode, IdentifyIsOneUnencryptedBlock) {
    for (u8 op : {cmd::kIdentify, cmd::kIdentifyPacket}) {
        AtaCommand c = decode_ok(op, 0, 0, 0);
        EXPECT_EQ(c.count, 1u);
        EXPECT_EQ(c.proto, Proto::Pio);
        EXPECT_EQ(c.dir, Dir::Read);
        EXPECT_FALSE(c.media);
    }
}

TEST(AtaDecode, ReadLogExtIsCountPagesOfUnencryptedDeviceData) {
    AtaCommand c = decode_ok(cmd::kReadLogExt, 0, 2, 0x10);  // NCQ Command Error log, 2 pages
    EXPECT_EQ(c.proto, Proto::Pio);
    EXPECT_EQ(c.dir, Dir::Read);
    EXPECT_FALSE(c.media) << "a log page is never decrypted as a sector";
    EXPECT_EQ(c.count, 2u);
    EXPECT_EQ(decode_ok(cmd::kReadLogExt, 0, 0, 0x10).count, 65536u);
    EXPECT_TRUE(refused(cmd::kReadLogDmaExt)) << "Linux falls back to the PIO form";
}

TEST(AtaDecode, NonDataCommandsOnTheListAreAllowed) {
    for (u8 op : {cmd::kNop, cmd::kDeviceReset, cmd::kExecDiagnostic, cmd::kInitDevParams, cmd::kSetMultiple,
                  cmd::kFlushCache, cmd::kFlushCacheExt, cmd::kCheckPower, cmd::kIdle, cmd::kIdleImmediate,
                  cmd::kStandby, cmd::kStandbyImmediate, cmd::kReadNativeMax, cmd::kReadNativeMaxExt,
                  cmd::kReadVerify, cmd::kReadVerifyExt, u8{0x10}, u8{0x1F}}) {
        AtaCommand c = decode_ok(op, 0, 1, 0);
        EXPECT_EQ(c.proto, Proto::NonData) << ata_command_name(op);
        EXPECT_EQ(c.dir, Dir::None);
        EXPECT_FALSE(c.media);
    }
}

TEST(AtaDecode, SmartAllowsOnlyReadDataAndReturnStatus) {
    AtaCommand c = decode_ok(cmd::kSmart, 0xD0, 1, 0xC24F00);
    EXPECT_EQ(c.proto, Proto::Pio);
    EXPECT_EQ(c.dir, Dir::Read);
    EXPECT_FALSE(c.media);
    EXPECT_EQ(decode_ok(cmd::kSmart, 0xDA, 0, 0xC24F00).proto, Proto::NonData);
    EXPECT_TRUE(refused(cmd::kSmart, 0xD6));  // SMART WRITE LOG
    EXPECT_TRUE(refused(cmd::kSmart, 0xD4));  // SMART EXECUTE OFF-LINE
}

TEST(AtaDecode, SetFeaturesAllowsOnlyTransferMode) {
    AtaCommand c = decode_ok(cmd::kSetFeatures, 0x03, 0x45, 0);
    EXPECT_EQ(c.proto, Proto::NonData);
    EXPECT_TRUE(refused(cmd::kSetFeatures, 0x02));  // enable write cache
    EXPECT_TRUE(refused(cmd::kSetFeatures, 0x10));  // SATA features
}

TEST(AtaDecode, CommandsThatBypassEncryptionAreRefused) {
    for (u8 op : {cmd::kDataSetManagement, cmd::kDownloadMicrocode, cmd::kSecuritySetPassword, cmd::kSecurityUnlock,
                  cmd::kSecurityErasePrepare, cmd::kSecurityEraseUnit, cmd::kSecurityFreezeLock,
                  cmd::kSecurityDisablePassword, cmd::kSetMax, cmd::kSetMaxAddressExt, cmd::kWriteUncorrectableExt,
                  cmd::kPacket})
        EXPECT_TRUE(refused(op)) << ata_command_name(op);
}

TEST(AtaDecode, EveryUnlistedOpcodeIsRefused) {
    // The allow-list written out by opcode, independent of the decoder's table: an opcode
    // added to or dropped from the table must show up here. SMART is absent because 0x03 is
    // not one of its two allowed subcommands; 0x10-0x1F are RECALIBRATE and its aliases.
    constexpr u8 kAllowed[] = {0x00, 0x08, 0x20, 0x24, 0x25, 0x27, 0x29, 0x2F, 0x30, 0x34, 0x35, 0x39, 0x40,
                               0x42, 0x60, 0x61, 0x90, 0x91, 0xA1, 0xC4, 0xC5, 0xC6, 0xC8, 0xCA, 0xE0,
                               0xE1, 0xE2, 0xE3, 0xE5, 0xE7, 0xEA, 0xEC, 0xEF, 0xF8};
    bool listed[256] = {};
    for (u8 op : kAllowed) listed[op] = true;
    for (u32 op = 0x10; op <= 0x1F; ++op) listed[op] = true;
    for (u32 op = 0; op < 256; ++op) {
        AtaCommand c{};
        EXPECT_EQ(ata_decode(static_cast<u8>(op), 0x03, 1, 0, true, &c), listed[op])
            << "opcode 0x" << std::hex << op << " (" << ata_command_name(static_cast<u8>(op)) << ")";
    }
}

TEST(AtaDecode, NamesCommandsForTheLog) {
    EXPECT_STREQ(ata_command_name(cmd::kSecurityEraseUnit), "SECURITY ERASE UNIT");
    EXPECT_STREQ(ata_command_name(cmd::kReadDmaExt), "READ DMA EXT");
    EXPECT_STREQ(ata_command_name(0x13), "RECALIBRATE");
    EXPECT_STREQ(ata_command_name(0xFF), "unknown");
}
