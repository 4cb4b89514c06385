// CCID framing (card/ccid.*): the commands' bytes, the answers' checks, the class descriptor
// and the ATR.
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "card/ccid.hpp"

using namespace tv;
using namespace tv::card;

namespace {

using Bytes = std::vector<u8>;

Bytes answer(u8 type, u8 slot, u8 seq, u8 status, Bytes const& data, u8 error = 0, u8 chain = 0) {
    Bytes m = {type, static_cast<u8>(data.size()), static_cast<u8>(data.size() >> 8), 0, 0, slot, seq, status, error, chain};
    m.insert(m.end(), data.begin(), data.end());
    return m;
}

// QEMU 7.2's usb-ccid class descriptor (hw/usb/dev-smartcard-reader.c).
Bytes qemu_descriptor() {
    return {0x36, 0x21, 0x10, 0x01, 0x00, 0x07, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x0f, 0x00, 0x00,
            0x00, 0x00, 0x01, 0x00, 0x00, 0x80, 0x25, 0x00, 0x00, 0x00, 0xc2, 0x01, 0x00, 0x00,
            0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x04,
            0x01, 0x00, 0x12, 0x00, 0x01, 0x00, 0xff, 0xff, 0x00, 0x00, 0x01, 0x01};
}

}  // namespace

TEST(Ccid, CommandsHaveTheSpecsLayout) {
    u8 m[64];
    ASSERT_EQ(ccid_power_on(0, 7, m, sizeof m), 10u);
    EXPECT_EQ(Bytes(m, m + 10), (Bytes{0x62, 0, 0, 0, 0, 0, 7, 0, 0, 0}));
    ASSERT_EQ(ccid_get_slot_status(1, 8, m, sizeof m), 10u);
    EXPECT_EQ(Bytes(m, m + 10), (Bytes{0x65, 0, 0, 0, 0, 1, 8, 0, 0, 0}));
    ASSERT_EQ(ccid_power_off(0, 9, m, sizeof m), 10u);
    EXPECT_EQ(m[0], 0x63);
    u8 const apdu[] = {0x00, 0xa4, 0x04, 0x00};
    ASSERT_EQ(ccid_xfr_block(0, 10, apdu, sizeof apdu, m, sizeof m), 14u);
    EXPECT_EQ(Bytes(m, m + 14), (Bytes{0x6f, 4, 0, 0, 0, 0, 10, 0, 0, 0, 0x00, 0xa4, 0x04, 0x00}));
}

TEST(Ccid, BuildersRefuseWhatDoesNotFit) {
    u8 m[20];
    EXPECT_EQ(ccid_power_on(0, 0, m, 9), 0u);
    u8 big[kCcidMaxData + 1] = {};
    u8 out[kCcidMaxMessage + 16];
    EXPECT_EQ(ccid_xfr_block(0, 0, big, sizeof big, out, sizeof out), 0u);
    EXPECT_EQ(ccid_xfr_block(0, 0, big, 11, m, sizeof m), 0u);
    EXPECT_EQ(ccid_xfr_block(0, 0, nullptr, 3, m, sizeof m), 0u);
}

TEST(Ccid, DataBlockAnswerParses) {
    Bytes const m = answer(0x80, 0, 5, 0x00, {0x90, 0x00});
    CcidAnswer a;
    ASSERT_EQ(ccid_parse_answer(m.data(), static_cast<u32>(m.size()), CcidMsg::XfrBlock, 0, 5, a), CcidParse::Ok);
    EXPECT_EQ(a.icc, IccStatus::Active);
    EXPECT_EQ(a.command, CcidCommandStatus::Ok);
    ASSERT_EQ(a.len, 2u);
    EXPECT_EQ(a.data[0], 0x90);
}

TEST(Ccid, SlotStatusReportsAnAbsentCardAndTimeExtension) {
    CcidAnswer a;
    Bytes m = answer(0x81, 0, 1, 0x02, {});
    ASSERT_EQ(ccid_parse_answer(m.data(), 10, CcidMsg::GetSlotStatus, 0, 1, a), CcidParse::Ok);
    EXPECT_EQ(a.icc, IccStatus::Absent);
    m = answer(0x80, 0, 1, 0x80, {});
    ASSERT_EQ(ccid_parse_answer(m.data(), 10, CcidMsg::XfrBlock, 0, 1, a), CcidParse::Ok);
    EXPECT_EQ(a.command, CcidCommandStatus::TimeExtension);
    m = answer(0x80, 0, 1, 0x41, {}, 0xfe);
    ASSERT_EQ(ccid_parse_answer(m.data(), 10, CcidMsg::XfrBlock, 0, 1, a), CcidParse::Ok);
    EXPECT_EQ(a.command, CcidCommandStatus::Failed);
    EXPECT_EQ(a.error, 0xfe);
}

TEST(Ccid, AnswersThatDoNotMatchAreRefused) {
    CcidAnswer a;
    Bytes m = answer(0x80, 0, 5, 0, {1, 2, 3});
    EXPECT_EQ(ccid_parse_answer(m.data(), 12, CcidMsg::XfrBlock, 0, 5, a), CcidParse::Incomplete);
    EXPECT_EQ(ccid_parse_answer(m.data(), 9, CcidMsg::XfrBlock, 0, 5, a), CcidParse::Incomplete);
    m.push_back(0);
    EXPECT_EQ(ccid_parse_answer(m.data(), 14, CcidMsg::XfrBlock, 0, 5, a), CcidParse::Trailing);
    m = answer(0x81, 0, 5, 0, {});
    EXPECT_EQ(ccid_parse_answer(m.data(), 10, CcidMsg::XfrBlock, 0, 5, a), CcidParse::WrongType);
    EXPECT_EQ(ccid_parse_answer(m.data(), 10, CcidMsg::GetSlotStatus, 1, 5, a), CcidParse::WrongSlot);
    EXPECT_EQ(ccid_parse_answer(m.data(), 10, CcidMsg::GetSlotStatus, 0, 6, a), CcidParse::WrongSeq);
    for (int status : {0x03, 0x04, 0x20, 0xc0}) {
        m = answer(0x81, 0, 5, static_cast<u8>(status), {});
        EXPECT_EQ(ccid_parse_answer(m.data(), 10, CcidMsg::GetSlotStatus, 0, 5, a), CcidParse::BadStatus) << status;
    }
    m = {0x80, 0x01, 0x02, 0, 0, 0, 5, 0, 0, 0};  // dwLength 513
    EXPECT_EQ(ccid_parse_answer(m.data(), 10, CcidMsg::XfrBlock, 0, 5, a), CcidParse::Oversized);
    EXPECT_EQ(ccid_message_length(m.data(), 10), 523u);
}

TEST(Ccid, QemusClassDescriptorIsATpduLevelT0Reader) {
    Bytes const d = qemu_descriptor();
    CcidReaderInfo info;
    ASSERT_EQ(ccid_parse_class_descriptor(d.data(), static_cast<u32>(d.size()), info), nullptr);
    EXPECT_EQ(info.level, CcidLevel::Tpdu);
    EXPECT_EQ(info.protocols, 1u);
    EXPECT_EQ(info.max_message, 0x10012u);
}

TEST(Ccid, ClassDescriptorsWeCannotUseAreRefused) {
    Bytes d = qemu_descriptor();
    CcidReaderInfo info;
    EXPECT_NE(ccid_parse_class_descriptor(d.data(), 53, info), nullptr);
    d[1] = 0x24;
    EXPECT_NE(ccid_parse_class_descriptor(d.data(), 54, info), nullptr);
    d = qemu_descriptor();
    d[42] = 0x00;  // character level
    EXPECT_NE(ccid_parse_class_descriptor(d.data(), 54, info), nullptr);
    d[42] = 0x03;  // TPDU and short APDU at once
    EXPECT_NE(ccid_parse_class_descriptor(d.data(), 54, info), nullptr);
    d = qemu_descriptor();
    d[6] = 0x00;  // no protocol
    EXPECT_NE(ccid_parse_class_descriptor(d.data(), 54, info), nullptr);
    d = qemu_descriptor();
    d[44] = 0x40;
    d[46] = 0x00;  // 64-byte messages
    EXPECT_NE(ccid_parse_class_descriptor(d.data(), 54, info), nullptr);
}

TEST(Ccid, AtrOfLibcacardsCardIsT0) {
    Bytes const atr = {0x3b, 0x89, 0x00, 'V', 'C', 'A', 'R', 'D', '_', 'N', 'S', 'S'};
    AtrInfo info;
    ASSERT_TRUE(parse_atr(atr.data(), static_cast<u32>(atr.size()), info));
    EXPECT_TRUE(info.t0);
    EXPECT_FALSE(info.t1);
    EXPECT_EQ(info.historical, 9u);
    EXPECT_FALSE(parse_atr(atr.data(), 11, info)) << "historical bytes cut";
}

TEST(Ccid, AtrWithT1NeedsItsCheckByte) {
    // TS T0(TD1, 0 hist) TD1(TD2, T=0) TD2(TA3, T=1) TA3 TCK
    Bytes const atr = {0x3b, 0x80, 0x80, 0x11, 0xfe, 0x00};
    AtrInfo info;
    ASSERT_TRUE(parse_atr(atr.data(), static_cast<u32>(atr.size()), info));
    EXPECT_TRUE(info.t0);
    EXPECT_TRUE(info.t1);
    EXPECT_FALSE(parse_atr(atr.data(), 5, info));
    Bytes const no_td = {0x3b, 0x00};
    ASSERT_TRUE(parse_atr(no_td.data(), 2, info));
    EXPECT_TRUE(info.t0);
    Bytes const bad = {0x12, 0x00};
    EXPECT_FALSE(parse_atr(bad.data(), 2, info));
}
