// USB mass storage (BOT): CBW parsing on the copy, the SCSI disk decode with its READ/WRITE
// (6, 10, 12, 16) media commands and refusals, the data stage check, READ CAPACITY.
#include <gtest/gtest.h>
#include <string.h>

#include "drivers/usb/usb_bot.hpp"

using namespace tv;
using namespace tv::usb;

namespace {

Cbw cbw(std::initializer_list<u8> cdb, u32 length, bool in) {
    Cbw c{};
    c.signature = kCbwSignature;
    c.tag = 0x1234;
    c.data_length = length;
    c.flags = in ? 0x80 : 0;
    c.cb_length = static_cast<u8>(cdb.size());
    u32 i = 0;
    for (u8 b : cdb) c.cb[i++] = b;
    return c;
}

ScsiCommand decode(Cbw const& c) { return scsi_decode(c.cb, c.cb_length); }

}  // namespace

TEST(UsbBot, AValidCbwIsCopied) {
    Cbw const c = cbw({0x00, 0, 0, 0, 0, 0}, 0, false);
    u8 buf[kCbwBytes];
    memcpy(buf, &c, sizeof buf);
    Cbw out{};
    EXPECT_EQ(parse_cbw(buf, sizeof buf, &out), nullptr);
    EXPECT_EQ(out.tag, 0x1234u);
    EXPECT_EQ(out.cb_length, 6);
}

TEST(UsbBot, MalformedCbwsAreRefused) {
    Cbw c = cbw({0x00, 0, 0, 0, 0, 0}, 0, false);
    u8 buf[kCbwBytes + 1]{};
    Cbw out{};
    memcpy(buf, &c, kCbwBytes);
    EXPECT_NE(parse_cbw(buf, kCbwBytes + 1, &out), nullptr);  // a short packet's length
    EXPECT_NE(parse_cbw(buf, kCbwBytes - 1, &out), nullptr);
    c.signature = 0x12345678;
    memcpy(buf, &c, kCbwBytes);
    EXPECT_NE(parse_cbw(buf, kCbwBytes, &out), nullptr);
    c = cbw({}, 0, false);
    memcpy(buf, &c, kCbwBytes);
    EXPECT_NE(parse_cbw(buf, kCbwBytes, &out), nullptr);  // no command block
    c = cbw({0x00}, 0, false);
    c.cb_length = 17;
    memcpy(buf, &c, kCbwBytes);
    EXPECT_NE(parse_cbw(buf, kCbwBytes, &out), nullptr);
}

TEST(UsbBot, TheCswAnswersItsCbw) {
    Csw const s = make_csw(cbw({0x00}, 0, false), CswStatus::Failed, 512);
    EXPECT_EQ(s.signature, kCswSignature);
    EXPECT_EQ(s.tag, 0x1234u);
    EXPECT_EQ(s.residue, 512u);
    EXPECT_EQ(s.status, 1);
}

TEST(UsbBot, ReadAndWriteOfEverySizeDecodeLbaAndBlocks) {
    ScsiCommand r6 = decode(cbw({0x08, 0x1F, 0xFF, 0xFE, 0, 0}, 256 * 512, true));
    EXPECT_EQ(r6.cls, ScsiClass::Read);
    EXPECT_EQ(r6.lba, Lba{0x1FFFFE});
    EXPECT_EQ(r6.blocks, 256u);  // 0 means 256
    ScsiCommand w10 = decode(cbw({0x2A, 0, 0x12, 0x34, 0x56, 0x78, 0, 0x01, 0x00, 0}, 256 * 512, false));
    EXPECT_EQ(w10.cls, ScsiClass::Write);
    EXPECT_FALSE(w10.data_in);
    EXPECT_EQ(w10.lba, Lba{0x12345678});
    EXPECT_EQ(w10.blocks, 256u);
    ScsiCommand r12 = decode(cbw({0xA8, 0, 0, 0, 0, 8, 0, 1, 0, 0, 0, 0}, 0, true));
    EXPECT_EQ(r12.cls, ScsiClass::Read);
    EXPECT_EQ(r12.lba, Lba{8});
    EXPECT_EQ(r12.blocks, 0x10000u);
    ScsiCommand w16 = decode(cbw({0x8A, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}, 8 * 4096, false));
    EXPECT_EQ(w16.cls, ScsiClass::Write);
    EXPECT_EQ(w16.lba, Lba{u64{1} << 32});
    EXPECT_EQ(w16.blocks, 8u);
    EXPECT_EQ(decode(cbw({0x88, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0}, 512, true)).lba, Lba{9});
}

TEST(UsbBot, StateCommandsPass) {
    u8 cdb[16]{};
    for (int op : {0x00, 0x03, 0x12, 0x1A, 0x5A, 0x25, 0x35, 0x1E, 0xA0}) {
        cdb[0] = static_cast<u8>(op);
        EXPECT_EQ(scsi_decode(cdb, 16).cls, ScsiClass::Passthrough) << scsi_command_name(cdb[0]);
    }
    u8 rc16[16] = {0x9E, 0x10};
    EXPECT_EQ(scsi_decode(rc16, 16).cls, ScsiClass::Passthrough);
    rc16[1] = 0x11;  // another service action
    EXPECT_EQ(scsi_decode(rc16, 16).cls, ScsiClass::Refused);
}

TEST(UsbBot, CommandsThatWriteOutsideThePipelineAreRefusedAsDataProtect) {
    u8 cdb[16]{};
    for (int op : {0x41, 0x93, 0x42, 0xB5, 0x04, 0x2E, 0xAE, 0x8E, 0x89, 0x3B, 0x85, 0xA1, 0x15, 0x55}) {
        cdb[0] = static_cast<u8>(op);
        ScsiCommand c = scsi_decode(cdb, 16);
        EXPECT_EQ(c.cls, ScsiClass::RefusedWrite) << scsi_command_name(cdb[0]);
        ScsiSense s = refusal_sense(c.cls);
        EXPECT_EQ(s.key, 0x07);
        EXPECT_EQ(s.asc, 0x27);
    }
}

TEST(UsbBot, UnknownAndVendorCommandsAreRefusedAsIllegalRequest) {
    u8 cdb[16]{};
    for (int op : {0xC0, 0xFF, 0xD8, 0x01, 0x7F}) {
        cdb[0] = static_cast<u8>(op);
        ScsiCommand c = scsi_decode(cdb, 16);
        EXPECT_EQ(c.cls, ScsiClass::Refused) << op;
        EXPECT_EQ(refusal_sense(c.cls).key, 0x05);
    }
}

TEST(UsbBot, ACdbShorterThanItsOpcodeIsRefused) {
    u8 cdb[16] = {0x8A};
    EXPECT_EQ(scsi_decode(cdb, 10).cls, ScsiClass::Refused);
    EXPECT_EQ(scsi_decode(cdb, 0).cls, ScsiClass::Refused);
}

TEST(UsbBot, TheDataStageMustBeTheBlocksTheCommandNames) {
    Cbw const ok = cbw({0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 8 * 512, true);
    EXPECT_EQ(check_data_stage(ok, decode(ok), 512), nullptr);
    EXPECT_NE(check_data_stage(ok, decode(ok), 4096), nullptr);
    Cbw const longer = cbw({0x2A, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 9 * 512, false);
    EXPECT_NE(check_data_stage(longer, decode(longer), 512), nullptr);
    Cbw const wrong_way = cbw({0x2A, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 8 * 512, true);
    EXPECT_NE(check_data_stage(wrong_way, decode(wrong_way), 512), nullptr);
    Cbw const inquiry = cbw({0x12, 0, 0, 0, 36, 0}, 36, true);
    EXPECT_EQ(check_data_stage(inquiry, decode(inquiry), 512), nullptr);
}

TEST(UsbBot, ReadCapacityGivesTheBlockSize) {
    u8 const c10[8] = {0, 0, 0x7F, 0xFF, 0, 0, 0x10, 0};
    Lba last{0};
    u32 bs = 0;
    ASSERT_TRUE(parse_capacity10(c10, 8, &last, &bs));
    EXPECT_EQ(last, Lba{0x7FFF});
    EXPECT_EQ(bs, 4096u);
    u8 const c16[32] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 0};
    ASSERT_TRUE(parse_capacity16(c16, 32, &last, &bs));
    EXPECT_EQ(last, Lba{u64{1} << 32});
    EXPECT_EQ(bs, 512u);
    u8 const odd[8] = {0, 0, 0, 1, 0, 0, 0x08, 0};  // 2048-byte blocks: not a disk we encrypt
    EXPECT_FALSE(parse_capacity10(odd, 8, &last, &bs));
    EXPECT_FALSE(parse_capacity10(c10, 7, &last, &bs));
}
