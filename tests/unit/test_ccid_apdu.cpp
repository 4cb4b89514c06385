// APDUs (card/apdu.*): encoding, and ApduChannel's T=0 rules (61 xx -> GET RESPONSE, 6C xx ->
// the command again with that Le) over a scripted transport.
#include <gtest/gtest.h>
#include <string.h>

#include <deque>
#include <vector>

#include "card/apdu.hpp"

using namespace tv;
using namespace tv::card;

namespace {

using Bytes = std::vector<u8>;

// Answers commands from a script and records them.
class ScriptedCard final : public CardTransport {
  public:
    std::deque<Bytes> answers;
    std::vector<Bytes> seen;
    bool fail = false;
    bool transmit(u8 const* cmd, u32 len, u8* answer, u32 cap, u32& answer_len) override {
        seen.emplace_back(cmd, cmd + len);
        if (fail || answers.empty() || answers.front().size() > cap)
            return false;
        memcpy(answer, answers.front().data(), answers.front().size());
        answer_len = static_cast<u32>(answers.front().size());
        answers.pop_front();
        return true;
    }
};

Bytes encode(Apdu const& a, bool drop_le) {
    u8 out[kApduMaxCommand];
    u32 const n = apdu_encode(a, drop_le, out, sizeof out);
    return Bytes(out, out + n);
}

}  // namespace

TEST(Apdu, EncodesTheFourCases) {
    Apdu a{0x00, 0xa4, 0x04, 0x00};
    EXPECT_EQ(encode(a, false), (Bytes{0x00, 0xa4, 0x04, 0x00}));
    a.expect_data = true;
    a.le = 256;
    EXPECT_EQ(encode(a, false), (Bytes{0x00, 0xa4, 0x04, 0x00, 0x00}));
    u8 const d[] = {1, 2};
    a.data = d;
    a.lc = 2;
    a.le = 16;
    EXPECT_EQ(encode(a, false), (Bytes{0x00, 0xa4, 0x04, 0x00, 2, 1, 2, 16}));
    EXPECT_EQ(encode(a, true), (Bytes{0x00, 0xa4, 0x04, 0x00, 2, 1, 2})) << "T=0 TPDU: case 4 goes as case 3";
    a.expect_data = false;
    EXPECT_EQ(encode(a, false), (Bytes{0x00, 0xa4, 0x04, 0x00, 2, 1, 2}));
}

TEST(Apdu, RefusesFieldsOutOfRange) {
    u8 big[256] = {};
    Apdu a{0x00, 0x42, 0, 0, big, 256};
    EXPECT_TRUE(encode(a, false).empty());
    a.lc = 1;
    a.data = nullptr;
    EXPECT_TRUE(encode(a, false).empty());
    Apdu b{0x00, 0xb0, 0, 0};
    b.expect_data = true;
    b.le = 0;
    EXPECT_TRUE(encode(b, false).empty());
    b.le = 257;
    EXPECT_TRUE(encode(b, false).empty());
}

TEST(Apdu, ChannelFetchesWaitingDataWithGetResponse) {
    ScriptedCard card;
    Bytes first(256, 0x11), second = {0x22, 0x22, 0x22};
    first.insert(first.end(), {0x61, 0x03});
    second.insert(second.end(), {0x90, 0x00});
    card.answers = {{0x61, 0x00}, first, second};
    ApduChannel ch{card, true};
    u8 const d[] = {0x01, 0x10};
    Apdu a{0x80, 0x52, 0, 0, d, 2, 16, true};
    u16 sw = 0;
    ASSERT_EQ(ch.exchange(a, sw), ApduResult::Ok);
    EXPECT_EQ(sw, 0x9000);
    ASSERT_EQ(ch.len(), 259u);
    EXPECT_EQ(ch.data()[258], 0x22);
    ASSERT_EQ(card.seen.size(), 3u);
    EXPECT_EQ(card.seen[1], (Bytes{0x00, 0xc0, 0x00, 0x00, 0x00}));
    EXPECT_EQ(card.seen[2], (Bytes{0x00, 0xc0, 0x00, 0x00, 0x03}));
}

TEST(Apdu, ChannelRepeatsACommandWithTheLeTheCardNames) {
    ScriptedCard card;
    card.answers = {{0x6c, 0x04}, {1, 2, 3, 4, 0x90, 0x00}};
    ApduChannel ch{card, false};
    Apdu a{0x00, 0xb0, 0, 0};
    a.expect_data = true;
    a.le = 256;
    u16 sw = 0;
    ASSERT_EQ(ch.exchange(a, sw), ApduResult::Ok);
    EXPECT_EQ(ch.len(), 4u);
    EXPECT_EQ(card.seen[1], (Bytes{0x00, 0xb0, 0, 0, 0x04}));
}

TEST(Apdu, ChannelReportsTransportFailureAndBadAnswers) {
    ScriptedCard card;
    ApduChannel ch{card, false};
    Apdu a{0x00, 0x20, 0, 0};
    u16 sw = 0;
    card.fail = true;
    EXPECT_EQ(ch.exchange(a, sw), ApduResult::TransportFailed);
    card.fail = false;
    card.answers = {{0x90}};
    EXPECT_EQ(ch.exchange(a, sw), ApduResult::BadAnswer) << "an answer without a status word";
    for (int i = 0; i < 20; ++i)
        card.answers.push_back({0x61, 0x01});
    EXPECT_EQ(ch.exchange(a, sw), ApduResult::BadAnswer) << "a card that never stops answering 61 xx";
}

TEST(Apdu, ChannelRefusesMoreDataThanItHolds) {
    ScriptedCard card;
    for (int i = 0; i < 9; ++i) {
        Bytes chunk(256, 0x33);
        chunk.insert(chunk.end(), {0x61, 0x00});
        card.answers.push_back(chunk);
    }
    ApduChannel ch{card, false};
    Apdu a{0x00, 0xca, 0, 0};
    u16 sw = 0;
    EXPECT_EQ(ch.exchange(a, sw), ApduResult::TooLong);
}

TEST(Apdu, WipeClearsTheAnswer) {
    ScriptedCard card;
    card.answers = {{0x55, 0x66, 0x90, 0x00}};
    ApduChannel ch{card, false};
    Apdu a{0x00, 0xca, 0, 0};
    u16 sw = 0;
    ASSERT_EQ(ch.exchange(a, sw), ApduResult::Ok);
    u8 const* p = ch.data();
    ch.wipe();
    EXPECT_EQ(ch.len(), 0u);
    EXPECT_EQ(p[0], 0);
    EXPECT_EQ(p[1], 0);
}
