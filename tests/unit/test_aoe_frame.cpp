// AoE wire format: field placement and byte order, and the strict length rules of the parser.
#include <gtest/gtest.h>

#include "aoe/ata.hpp"
#include "aoe/frame.hpp"
#include "tests/unit/test_aoe_fake.hpp"

using namespace tv;
using namespace tv::aoe;
using tv::aoe::test::Bytes;

namespace {

Frame ata_frame(u8 aflags, u8 cmd, u64 lba, u8 count) {
    Frame f{};
    f.dst = test::mac(0x22);
    f.src = test::mac(0x11);
    f.shelf = 0x1234;
    f.slot = 0x56;
    f.command = Command::Ata;
    f.tag = 0xA1B2C3D4;
    f.ata.aflags = aflags;
    f.ata.sector_count = count;
    f.ata.cmd_status = cmd;
    f.ata.lba = lba;
    return f;
}

Frame config_reply(u16 bufcnt, u8 scnt) {
    Frame f{};
    f.dst = test::mac(0x11);
    f.src = test::mac(0x22);
    f.flags = kFlagResponse;
    f.shelf = 1;
    f.slot = 2;
    f.command = Command::QueryConfig;
    f.config = ConfigFields{bufcnt, 0x4019, scnt, kVersion, ConfigCmd::Read, 0};
    return f;
}

ParseResult parse(Bytes const& b, Frame* f = nullptr) {
    Frame scratch{};
    return parse_frame(b.data(), b.size(), f != nullptr ? f : &scratch);
}

}  // namespace

TEST(AoeFrame, AtaRequestHasBigEndianHeaderAndLittleEndianLba) {
    Bytes b = test::build(ata_frame(kAflagExtended, 0x24, 0x0000'BBAA'9988'7766ull, 2));
    ASSERT_EQ(b.size(), kMinEthFrame);  // 36 bytes of content, padded
    EXPECT_EQ(b[12], 0x88);
    EXPECT_EQ(b[13], 0xA2);
    EXPECT_EQ(b[14], 0x10);  // version 1, no flags
    EXPECT_EQ(b[16], 0x12);
    EXPECT_EQ(b[17], 0x34);
    EXPECT_EQ(b[18], 0x56);
    EXPECT_EQ(b[19], 0x00);  // ATA command
    EXPECT_EQ(b[20], 0xA1);
    EXPECT_EQ(b[23], 0xD4);
    EXPECT_EQ(b[24], kAflagExtended);
    EXPECT_EQ(b[26], 2);
    EXPECT_EQ(b[27], 0x24);
    Bytes const lba(b.begin() + 28, b.begin() + 34);
    EXPECT_EQ(lba, (Bytes{0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB}));
    for (size_t i = 36; i < b.size(); ++i)
        EXPECT_EQ(b[i], 0) << i;
}

TEST(AoeFrame, Lba28FieldPutsBits24To27UnderTheLbaModeBits) {
    EXPECT_EQ(lba28_field(0x0ABCDEF1), 0xEABCDEF1ull);
    EXPECT_EQ(lba28_field(0x1ABCDEF1), 0xEABCDEF1ull);  // bits above 27 cannot be expressed
}

TEST(AoeFrame, WriteFrameCarriesItsData) {
    Bytes data(1024, 0x5A);
    Frame f = ata_frame(kAflagWrite, 0x30, 7, 2);
    f.payload = data.data();
    f.payload_len = data.size();
    Bytes b = test::build(f);
    ASSERT_EQ(b.size(), kAtaHeaderLen + 1024);
    Frame g{};
    ASSERT_EQ(parse(b, &g), ParseResult::Ok);
    EXPECT_EQ(g.payload_len, 1024u);
    EXPECT_EQ(g.payload[1023], 0x5A);
}

TEST(AoeFrame, BuilderRefusesPartialSectorsAndSmallBuffers) {
    u8 data[100] = {};
    Frame f = ata_frame(kAflagWrite, 0x30, 0, 1);
    f.payload = data;
    f.payload_len = sizeof data;
    u8 out[2048];
    size_t len = 0;
    EXPECT_EQ(build_frame(f, out, sizeof out, &len), Status::Invalid);
    f.payload_len = 0;
    EXPECT_EQ(build_frame(f, out, 59, &len), Status::NoMemory);
    EXPECT_EQ(build_frame(f, out, 60, &len), Status::Ok);
}

TEST(AoeFrame, VbladeSized32ByteConfigReplyIsAccepted) {
    Bytes b = test::build(config_reply(16, 2));
    b.resize(kConfigHeaderLen);
    Frame f{};
    ASSERT_EQ(parse(b, &f), ParseResult::Ok);
    EXPECT_EQ(f.command, Command::QueryConfig);
    EXPECT_EQ(f.config.buffer_count, 16);
    EXPECT_EQ(f.config.firmware, 0x4019);
    EXPECT_EQ(f.config.max_sectors, 2);
    EXPECT_EQ(f.config.aoe_version, 1);
    EXPECT_EQ(f.config.string_len, 0);
}

TEST(AoeFrame, ConfigStringIsReturnedInPlace) {
    Frame f = config_reply(16, 2);
    char const s[] = "hello";
    f.payload = reinterpret_cast<u8 const*>(s);
    f.payload_len = 5;
    Bytes b = test::build(f);
    EXPECT_EQ(b.size(), kMinEthFrame);
    Frame g{};
    ASSERT_EQ(parse(b, &g), ParseResult::Ok);
    ASSERT_EQ(g.payload_len, 5u);
    EXPECT_EQ(memcmp(g.payload, "hello", 5), 0);
}

TEST(AoeFrame, ConfigStringRunningPastTheFrameIsBadLength) {
    Bytes b = test::build(config_reply(16, 2));
    b.resize(kConfigHeaderLen + 4);
    b[30] = 0;
    b[31] = 5;  // claims 5 bytes, 4 present
    EXPECT_EQ(parse(b), ParseResult::BadLength);
    b[30] = 0x04;
    b[31] = 0x01;  // 1025: longer than the protocol allows
    b.resize(kConfigHeaderLen + 1025);
    EXPECT_EQ(parse(b), ParseResult::BadLength);
}

TEST(AoeFrame, PaddedHeaderOnlyReplyIsAcceptedWithNoData) {
    Bytes b = test::build(ata_frame(kAflagWrite, 0x40, 0, 0));
    ASSERT_EQ(b.size(), 60u);
    Frame f{};
    ASSERT_EQ(parse(b, &f), ParseResult::Ok);
    EXPECT_EQ(f.payload_len, 0u);
    b.resize(36);  // unpadded is fine too
    EXPECT_EQ(parse(b), ParseResult::Ok);
}

TEST(AoeFrame, PartialSectorOrStrayBytesAreBadLength) {
    Bytes b = test::build(ata_frame(0, 0x40, 0, 0));
    b.resize(61);  // past the padding, but no whole sector
    EXPECT_EQ(parse(b), ParseResult::BadLength);
    b.resize(kAtaHeaderLen + 512 + 1);
    EXPECT_EQ(parse(b), ParseResult::BadLength);
    b.resize(kAtaHeaderLen + 512 + 4);  // even an FCS-sized tail
    EXPECT_EQ(parse(b), ParseResult::BadLength);
    b.resize(kAtaHeaderLen + 1024);
    EXPECT_EQ(parse(b), ParseResult::Ok);
}

TEST(AoeFrame, EveryLengthShorterThanTheHeaderIsTruncated) {
    Bytes const ata = test::build(ata_frame(0, 0x20, 0, 1));
    for (size_t n = 0; n < kAtaHeaderLen; ++n) {
        Bytes b(ata.begin(), ata.begin() + static_cast<long>(n));
        ParseResult const r = parse(b);
        EXPECT_EQ(r, ParseResult::Truncated) << n;
    }
    Bytes const cfg = test::build(config_reply(1, 1));
    for (size_t n = 14; n < kConfigHeaderLen; ++n)
        EXPECT_EQ(parse(Bytes(cfg.begin(), cfg.begin() + static_cast<long>(n))), ParseResult::Truncated) << n;
}

TEST(AoeFrame, OtherEthertypeIsNotAoe) {
    Bytes b = test::build(ata_frame(0, 0x20, 0, 1));
    b[12] = 0x08;
    b[13] = 0x00;
    EXPECT_EQ(parse(b), ParseResult::NotAoe);
}

TEST(AoeFrame, VersionOtherThanOneIsRefusedButHeaderIsDecoded) {
    Bytes b = test::build(ata_frame(0, 0x20, 0, 1));
    b[14] = 0x28;  // version 2, response
    Frame f{};
    EXPECT_EQ(parse(b, &f), ParseResult::BadVersion);
    EXPECT_EQ(f.tag, 0xA1B2C3D4u);
    EXPECT_EQ(f.flags, kFlagResponse);
}

TEST(AoeFrame, CommandsWeNeverSendAreUnknown) {
    Bytes b = test::build(ata_frame(0, 0x20, 0, 1));
    for (u8 cmd : {u8{2}, u8{3}, u8{0xF0}, u8{0xFF}}) {
        b[19] = cmd;
        EXPECT_EQ(parse(b), ParseResult::UnknownCommand) << int{cmd};
    }
}

TEST(AoeIdentify, SizeComesFromLba48WordsWhenSupported) {
    Bytes b = test::identify_block(0x1'2345'6789ull, true, "Coraid EtherDrive vblade");
    IdentifyInfo info{};
    ASSERT_EQ(parse_identify(b.data(), &info), Status::Ok);
    EXPECT_TRUE(info.lba48);
    EXPECT_EQ(info.sectors, 0x1'2345'6789ull);
    EXPECT_STREQ(info.model, "Coraid EtherDrive vblade");
}

TEST(AoeIdentify, SizeComesFromLba28WordsWithoutLba48) {
    Bytes b = test::identify_block(123456, false);
    IdentifyInfo info{};
    ASSERT_EQ(parse_identify(b.data(), &info), Status::Ok);
    EXPECT_FALSE(info.lba48);
    EXPECT_EQ(info.sectors, 123456u);
}

TEST(AoeIdentify, EmptyDiskIsInvalidAndUnprintableNamesAreMasked) {
    Bytes b = test::identify_block(0, true, "a\x01z");
    IdentifyInfo info{};
    EXPECT_EQ(parse_identify(b.data(), &info), Status::Invalid);
    EXPECT_STREQ(info.model, "a?z");
}
