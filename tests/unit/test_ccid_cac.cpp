// The CAC card (card/cac.*) and the CCID reader (card/ccid_reader.*) against fakes of
// libcacard's applet and QEMU's usb-ccid (tests/unit/test_ccid_fakes.hpp).
#include <gtest/gtest.h>
#include <string.h>

#include "card/cac.hpp"
#include "card/ccid_reader.hpp"
#include "tests/unit/test_ccid_fakes.hpp"

using namespace tv;
using namespace tv::card;
using namespace tv::card::test;

namespace {

// The whole stack: CacCard -> ApduChannel (T=0, TPDU) -> CcidReader -> 64-byte packets -> card.
struct Stack {
    FakeCac card;
    FakeReaderPipe pipe{card};
    CcidReader reader{pipe};
    ApduChannel channel{reader, true};
    CacCard cac{channel};

    bool power_on() {
        u8 atr[64];
        u32 n = 0;
        return reader.power_on(atr, sizeof atr, n) == ReaderResult::Ok && n == 12;
    }
};

}  // namespace

TEST(CacCard, ReadsEachKeysCertificateThroughTheReader) {
    Stack s;
    ASSERT_TRUE(s.power_on());
    for (u32 k = 0; k < 3; ++k) {
        u8 cert[kCacMaxBuffer];
        u32 len = 0;
        ASSERT_EQ(s.cac.read_certificate(k, cert, sizeof cert, len), CardStatus::Ok) << k;
        ASSERT_EQ(len, s.card.certs[k].size());
        EXPECT_EQ(0, memcmp(cert, s.card.certs[k].data(), len));
    }
    u8 cert[16];
    u32 len = 0;
    EXPECT_EQ(s.cac.read_certificate(0, cert, sizeof cert, len), CardStatus::TooLarge);
    EXPECT_EQ(s.cac.read_certificate(3, cert, sizeof cert, len), CardStatus::NotFound);
}

TEST(CacCard, VerifiesThePinAndReportsTriesLeft) {
    Stack s;
    ASSERT_TRUE(s.power_on());
    int left = 0;
    ASSERT_EQ(s.cac.pin_tries(left), CardStatus::Ok);
    EXPECT_EQ(left, kTriesUnknown) << "libcacard keeps no count (6A 88)";
    EXPECT_EQ(s.cac.verify_pin(reinterpret_cast<u8 const*>("654321"), 6, left), CardStatus::WrongPin);
    EXPECT_EQ(left, kTriesUnknown);
    s.card.tries_reported = 3;
    ASSERT_EQ(s.cac.pin_tries(left), CardStatus::Ok);
    EXPECT_EQ(left, 3);
    EXPECT_EQ(s.cac.verify_pin(reinterpret_cast<u8 const*>("654321"), 6, left), CardStatus::WrongPin);
    EXPECT_EQ(left, 2);
    EXPECT_EQ(s.cac.verify_pin(reinterpret_cast<u8 const*>("123456"), 6, left), CardStatus::Ok);
    ASSERT_FALSE(s.card.commands.empty());
    auto const& verify = s.card.commands.back();
    EXPECT_EQ(verify, (Bytes{0x00, 0x20, 0x00, 0x00, 0x08, '1', '2', '3', '4', '5', '6', 0xff, 0xff}))
        << "the PIN padded with FF to 8 bytes";
    s.card.tries_reported = 1;
    EXPECT_EQ(s.cac.verify_pin(reinterpret_cast<u8 const*>("000000"), 6, left), CardStatus::PinBlocked);
    EXPECT_EQ(s.cac.verify_pin(reinterpret_cast<u8 const*>("123456789"), 9, left), CardStatus::WrongPin)
        << "longer than a CAC PIN: never sent";
}

TEST(CacCard, RawRsaRunsInTwoChainedChunks) {
    Stack s;
    ASSERT_TRUE(s.power_on());
    u8 in[256];
    for (u32 i = 0; i < sizeof in; ++i)
        in[i] = static_cast<u8>(i + 1);
    in[0] = 0;
    u8 out[256];
    EXPECT_EQ(s.cac.private_op(0, in, sizeof in, out), CardStatus::NeedsPin);
    int left = 0;
    ASSERT_EQ(s.cac.verify_pin(reinterpret_cast<u8 const*>("123456"), 6, left), CardStatus::Ok);
    size_t const before = s.card.commands.size();
    ASSERT_EQ(s.cac.private_op(0, in, sizeof in, out), CardStatus::Ok);
    // SELECT (+ GET RESPONSE for its FCI), SIGN/DECRYPT (P1 80, 128 bytes), SIGN/DECRYPT
    // (P1 00, 128 bytes, no Le at TPDU level), GET RESPONSE for the 256-byte result.
    ASSERT_EQ(s.card.commands.size() - before, 5u);
    EXPECT_EQ(s.card.commands[before][1], 0xa4);
    EXPECT_EQ(s.card.commands[before + 2][1], 0x42);
    EXPECT_EQ(s.card.commands[before + 2][2], 0x80);
    EXPECT_EQ(s.card.commands[before + 2][4], 128);
    EXPECT_EQ(s.card.commands[before + 3][2], 0x00);
    EXPECT_EQ(s.card.commands[before + 3].size(), 5u + 128u);
    EXPECT_EQ(s.card.commands[before + 4], (Bytes{0x00, 0xc0, 0x00, 0x00, 0x00}));
    u8 back[256];
    ASSERT_EQ(0, mbedtls_rsa_public(s.card.rsa(), out, back));
    EXPECT_EQ(0, memcmp(back, in, sizeof in));
}

TEST(CcidReader, ReportsAnAbsentCard) {
    FakeCac card;
    FakeReaderPipe pipe{card};
    pipe.present = false;
    CcidReader reader{pipe};
    u8 atr[64];
    u32 n = 0;
    EXPECT_EQ(reader.power_on(atr, sizeof atr, n), ReaderResult::NoCard);
    IccStatus icc = IccStatus::Active;
    EXPECT_EQ(reader.slot_status(icc), ReaderResult::NoCard);
    EXPECT_EQ(icc, IccStatus::Absent);
}

TEST(CcidReader, WaitsOutTimeExtensionsAndSkipsStaleAnswers) {
    Stack s;
    s.pipe.time_extensions = 3;
    s.pipe.stale_answer = true;
    ASSERT_TRUE(s.power_on());
    u8 cert[kCacMaxBuffer];
    u32 len = 0;
    EXPECT_EQ(s.cac.read_certificate(1, cert, sizeof cert, len), CardStatus::Ok);
}

TEST(CcidReader, ACutAnswerFailsTheExchange) {
    Stack s;
    ASSERT_TRUE(s.power_on());
    s.pipe.cut_answers = true;
    u8 cert[kCacMaxBuffer];
    u32 len = 0;
    EXPECT_EQ(s.cac.read_certificate(0, cert, sizeof cert, len), CardStatus::TransportFailed);
}

TEST(CacBuffers, FindTheCertificateAfterCertInfo) {
    Bytes cert(300, 0x30), tl, value;
    cac_buffers(cert, tl, value);
    u8 const* c = nullptr;
    u32 n = 0;
    ASSERT_EQ(cac_find_certificate(tl.data() + 2, static_cast<u32>(tl.size() - 2), value.data() + 2,
                                   static_cast<u32>(value.size() - 2), c, n),
              CardStatus::Ok);
    EXPECT_EQ(n, 300u);
    EXPECT_EQ(c, value.data() + 3);
}

TEST(CacBuffers, RefuseCompressedAndInconsistentBuffers) {
    Bytes cert(100, 0x30), tl, value;
    u8 const* c = nullptr;
    u32 n = 0;
    cac_buffers(cert, tl, value, 1);
    EXPECT_EQ(cac_find_certificate(tl.data() + 2, static_cast<u32>(tl.size() - 2), value.data() + 2,
                                   static_cast<u32>(value.size() - 2), c, n),
              CardStatus::NotSupported);
    cac_buffers(cert, tl, value);
    EXPECT_EQ(cac_find_certificate(tl.data() + 2, static_cast<u32>(tl.size() - 2), value.data() + 2, 50, c, n),
              CardStatus::BadAnswer)
        << "values shorter than the lengths";
    EXPECT_EQ(cac_find_certificate(tl.data() + 2, 3, value.data() + 2, static_cast<u32>(value.size() - 2), c, n),
              CardStatus::BadAnswer)
        << "a tag without its length";
    u8 const only_info[] = {0x71, 0x01};
    u8 const v[] = {0x00};
    EXPECT_EQ(cac_find_certificate(only_info, 2, v, 1, c, n), CardStatus::NotFound);
    u8 const long_form_cut[] = {0x70, 0xff, 0x10};
    EXPECT_EQ(cac_find_certificate(long_form_cut, 3, v, 1, c, n), CardStatus::BadAnswer);
}

TEST(CcidReader, SkipsTheZeroLengthPacketAfterAnAnswerOfWholePackets) {
    // A 54-byte answer makes a 64-byte message: QEMU's usb-ccid then sends a zero-length
    // packet, which the next read must not take for a cut answer.
    Stack s;
    ASSERT_TRUE(s.power_on());
    for (u32 n = 30; n < 300; ++n) {  // some certificate length gives a 64-byte answer somewhere
        s.card.certs[0].assign(n, 0x42);
        u8 out[kCacMaxBuffer];
        u32 len = 0;
        ASSERT_EQ(s.cac.read_certificate(0, out, sizeof out, len), CardStatus::Ok) << n;
        ASSERT_EQ(len, n);
    }
}
