// The ATAPI allow-list (drivers/ata/ata_command_atapi): which command blocks reach an optical
// drive under the IDE mediator, and the sense a refusal reports.
#include <gtest/gtest.h>

#include "drivers/ata/ata_command_atapi.hpp"

using namespace tv;
using namespace tv::ata;

namespace {

AtapiVerdict decode(u8 opcode, bool allow_writes, AtapiCommand* c = nullptr) {
    u8 cdb[kCdbBytes] = {opcode, 0, 0, 0, 0, 16, 0, 0, 1, 0, 0, 0};
    AtapiCommand tmp{};
    return atapi_decode(cdb, allow_writes, c ? c : &tmp);
}

constexpr u8 kReadSide[] = {0x00, 0x03, 0x12, 0x1A, 0x1B, 0x1E, 0x23, 0x25, 0x28, 0x2B, 0x42, 0x43, 0x44, 0x45,
                            0x46, 0x47, 0x4A, 0x4B, 0x4E, 0x51, 0x52, 0x5A, 0xA4, 0xA8, 0xAD, 0xB9, 0xBB, 0xBD, 0xBE};
// WRITE(10/12), WRITE AND VERIFY, BLANK, FORMAT UNIT, SEND CUE SHEET, CLOSE TRACK/SESSION,
// RESERVE TRACK, SEND OPC, MODE SELECT(6/10), SYNCHRONIZE CACHE, SEND DISC STRUCTURE.
constexpr u8 kWrites[] = {0x2A, 0xAA, 0x2E, 0xA1, 0x04, 0x5D, 0x5B, 0x53, 0x54, 0x15, 0x55, 0x35, 0xBF};

}  // namespace

TEST(AtaAtapiDecode, ReadSideAndMediaCommandsPassWhateverThePolicy) {
    for (u8 op : kReadSide) {
        EXPECT_EQ(decode(op, false), AtapiVerdict::Allowed) << atapi_command_name(op);
        EXPECT_EQ(decode(op, true), AtapiVerdict::Allowed) << atapi_command_name(op);
        EXPECT_STRNE(atapi_command_name(op), "unknown");
    }
}

TEST(AtaAtapiDecode, WritesToRecordableMediaAreRefusedUnlessCdWriteAllows) {
    for (u8 op : kWrites) {
        AtapiCommand c{};
        EXPECT_EQ(decode(op, false, &c), AtapiVerdict::RefusedWrite) << atapi_command_name(op);
        EXPECT_TRUE(c.writes);
        EXPECT_EQ(decode(op, true, &c), AtapiVerdict::Allowed) << atapi_command_name(op);
    }
}

TEST(AtaAtapiDecode, FirmwareDownloadRegionKeysAndUnknownOpcodesAreNeverPassed) {
    for (u8 op : {u8{0x3B}, u8{0x3C}, u8{0xA3}, u8{0xFF}, u8{0xC0}, u8{0x01}, u8{0x85}, u8{0xA0}}) {
        EXPECT_EQ(decode(op, false), AtapiVerdict::RefusedNever) << int{op};
        EXPECT_EQ(decode(op, true), AtapiVerdict::RefusedNever) << int{op};
    }
    EXPECT_STREQ(atapi_command_name(0xFF), "unknown");
}

TEST(AtaAtapiDecode, EveryOpcodeIsInExactlyOneClass) {
    u32 allowed = 0, writes = 0;
    for (u32 op = 0; op < 256; ++op) {
        AtapiCommand c{};
        AtapiVerdict v = decode(static_cast<u8>(op), false, &c);
        EXPECT_EQ(c.opcode, op);
        allowed += v == AtapiVerdict::Allowed;
        writes += v == AtapiVerdict::RefusedWrite;
    }
    EXPECT_EQ(allowed, sizeof kReadSide);
    EXPECT_EQ(writes, sizeof kWrites);
}

TEST(AtaAtapiDecode, DataDirectionFollowsTheCommand) {
    AtapiCommand c{};
    ASSERT_EQ(decode(scsi::kRead10, false, &c), AtapiVerdict::Allowed);
    EXPECT_EQ(c.dir, Dir::Read);
    ASSERT_EQ(decode(scsi::kTestUnitReady, false, &c), AtapiVerdict::Allowed);
    EXPECT_EQ(c.dir, Dir::None);
    ASSERT_EQ(decode(scsi::kWrite10, true, &c), AtapiVerdict::Allowed);
    EXPECT_EQ(c.dir, Dir::Write);
}

TEST(AtaAtapiSense, AWriteIsRefusedAsDataProtectAnythingElseAsIllegalRequest) {
    Sense s = atapi_refusal_sense(AtapiVerdict::RefusedWrite);
    EXPECT_EQ(s.key, 0x07);
    EXPECT_EQ(s.asc, 0x27);
    EXPECT_EQ(atapi_error_register(s), 0x74);  // sense key 7:4, ABRT
    s = atapi_refusal_sense(AtapiVerdict::RefusedNever);
    EXPECT_EQ(s.key, 0x05);
    EXPECT_EQ(s.asc, 0x20);
    EXPECT_EQ(atapi_error_register(s), 0x54);
}

TEST(AtaAtapiSense, SenseDataIsFixedFormatWithKeyAndAdditionalCode) {
    u8 d[kSenseBytes];
    memset(d, 0xEE, sizeof d);
    atapi_sense_data(Sense{0x07, 0x27, 0x01}, d);
    EXPECT_EQ(d[0], 0x70);
    EXPECT_EQ(d[2], 0x07);
    EXPECT_EQ(d[7], 10);
    EXPECT_EQ(d[12], 0x27);
    EXPECT_EQ(d[13], 0x01);
    EXPECT_EQ(d[17], 0);
}
