// T=1 at block level (card/t1.*) against a fake T=1 card: chaining both ways, sequence
// numbers, S(WTX) and S(IFS) requests, damaged blocks asked for again, refusals.
#include <gtest/gtest.h>

#include <vector>

#include "card/ccid.hpp"
#include "card/ccid_reader.hpp"
#include "card/t1.hpp"

using namespace tv;
using namespace tv::card;

namespace {

using Bytes = std::vector<u8>;

Bytes block(u8 pcb, Bytes const& inf) {
    Bytes b(inf.size() + 4);
    b.resize(t1_build(pcb, inf.data(), static_cast<u32>(inf.size()), b.data(), static_cast<u32>(b.size())));
    return b;
}

// A T=1 card: assembles chained commands, answers `answer(cmd)` in blocks of at most `ifsd`.
class FakeT1Card final : public CardTransport {
  public:
    u32 ifsd{254};
    u32 wtx_before_answer{0};
    u32 ifs_request_before_answer{0};
    u32 damage_next{0};       // answers to corrupt (their LRC) before sending them right
    bool abort_instead{false};
    Bytes answer_tail{0x90, 0x00};
    u32 answer_body{0};       // answer data bytes before the status word
    std::vector<Bytes> seen;  // every block from the host
    std::vector<Bytes> commands;

    bool transmit(u8 const* cmd, u32 len, u8* out, u32 cap, u32& got) override {
        Bytes in(cmd, cmd + len);
        seen.push_back(in);
        T1Block b;
        Bytes reply;
        if (!t1_parse(cmd, len, b)) {
            reply = block(static_cast<u8>(0x80 | (ns_expected_ ? 0x10 : 0) | 1), {});
        } else if (b.kind == T1Kind::R && b.error != 0) {
            reply = last_;  // the host could not read our last block
        } else if (b.kind == T1Kind::S) {
            reply = pending();  // a response to our request: go on
        } else if (b.kind == T1Kind::I) {
            EXPECT_EQ(b.seq, ns_expected_) << "the host's N(S) alternates";
            ns_expected_ = !ns_expected_;
            command_.insert(command_.end(), b.inf, b.inf + b.len);
            if (b.more) {
                reply = block(static_cast<u8>(0x80 | (ns_expected_ ? 0x10 : 0)), {});
            } else {
                commands.push_back(command_);
                command_.clear();
                Bytes a;
                for (u32 i = 0; i < answer_body; ++i) a.push_back(static_cast<u8>(i));
                a.insert(a.end(), answer_tail.begin(), answer_tail.end());
                out_ = a;
                out_at_ = 0;
                wtx_left_ = wtx_before_answer;
                ifs_left_ = ifs_request_before_answer;
                reply = pending();
            }
        } else if (b.kind == T1Kind::R) {
            EXPECT_EQ(b.seq, our_ns_) << "the host acknowledges with the N(S) it expects next";
            reply = next_chunk();
        }
        last_ = reply;
        if (damage_next != 0 && reply.size() >= 4 && reply[1] != 0xc3 && reply[1] != 0xc1) {
            --damage_next;
            reply.back() ^= 0xff;
        }
        if (reply.size() > cap) return false;
        memcpy(out, reply.data(), reply.size());
        got = static_cast<u32>(reply.size());
        return true;
    }

  private:
    Bytes pending() {
        if (abort_instead) return block(0xc2, {});
        if (wtx_left_ != 0) {
            --wtx_left_;
            return block(0xc3, {2});
        }
        if (ifs_left_ != 0) {
            --ifs_left_;
            return block(0xc1, {16});
        }
        return next_chunk();
    }
    Bytes next_chunk() {
        u32 const n = static_cast<u32>(out_.size()) - out_at_ < ifsd ? static_cast<u32>(out_.size()) - out_at_ : ifsd;
        bool const more = out_at_ + n < out_.size();
        Bytes inf(out_.begin() + out_at_, out_.begin() + out_at_ + n);
        out_at_ += n;
        Bytes b = block(static_cast<u8>((our_ns_ ? 0x40 : 0) | (more ? 0x20 : 0)), inf);
        our_ns_ = !our_ns_;
        return b;
    }
    bool ns_expected_{false}, our_ns_{false};
    Bytes command_, out_, last_;
    u32 out_at_{0}, wtx_left_{0}, ifs_left_{0};
};

Bytes command(u32 n) {
    Bytes c = {0x00, 0x20, 0x00, 0x01, static_cast<u8>(n)};
    for (u32 i = 0; i < n; ++i) c.push_back(static_cast<u8>(0xa0 + i));
    return c;
}

}  // namespace

TEST(CcidT1, BlocksAreBuiltAndCheckedWithTheirLrc) {
    Bytes const b = block(0x40, {1, 2, 3});
    ASSERT_EQ(b.size(), 7u);
    EXPECT_EQ(b.back(), static_cast<u8>(0x40 ^ 3 ^ 1 ^ 2 ^ 3));
    T1Block p;
    ASSERT_TRUE(t1_parse(b.data(), 7, p));
    EXPECT_EQ(p.kind, T1Kind::I);
    EXPECT_TRUE(p.seq);
    EXPECT_EQ(p.len, 3u);
    Bytes bad = b;
    bad.back() ^= 1;
    EXPECT_FALSE(t1_parse(bad.data(), 7, p)) << "LRC";
    EXPECT_FALSE(t1_parse(b.data(), 6, p)) << "LEN longer than the block";
    bad = b;
    bad[0] = 0x12;
    bad.back() ^= 0x12;
    EXPECT_FALSE(t1_parse(bad.data(), 7, p)) << "a NAD";
    Bytes const r = block(0x90, {});
    ASSERT_TRUE(t1_parse(r.data(), 4, p));
    EXPECT_EQ(p.kind, T1Kind::R);
    EXPECT_TRUE(p.seq);
}

TEST(CcidT1, AShortCommandAndAnswerEachInOneBlockAndTheSequenceAlternates) {
    FakeT1Card card;
    card.answer_body = 4;
    T1Transport t{card};
    u8 ans[300];
    u32 n = 0;
    Bytes const c = command(8);
    for (int round = 0; round < 3; ++round) {
        ASSERT_TRUE(t.transmit(c.data(), static_cast<u32>(c.size()), ans, sizeof ans, n)) << t.last_error();
        ASSERT_EQ(n, 6u);
        EXPECT_EQ(ans[4], 0x90);
    }
    ASSERT_EQ(card.seen.size(), 3u);
    EXPECT_EQ(card.seen[0][1], 0x00);
    EXPECT_EQ(card.seen[1][1], 0x40);
    EXPECT_EQ(card.seen[2][1], 0x00);
    EXPECT_EQ(card.commands[2], c);
}

TEST(CcidT1, ALongCommandIsChainedInIfscBlocksAndALongAnswerAcknowledgedBlockByBlock) {
    FakeT1Card card;
    card.ifsd = 20;
    card.answer_body = 100;
    T1Transport t{card, 16};
    Bytes const c = command(60);  // 65 bytes: five blocks of at most 16
    u8 ans[300];
    u32 n = 0;
    ASSERT_TRUE(t.transmit(c.data(), static_cast<u32>(c.size()), ans, sizeof ans, n)) << t.last_error();
    ASSERT_EQ(card.commands.size(), 1u);
    EXPECT_EQ(card.commands[0], c);
    ASSERT_EQ(n, 102u);
    for (u32 i = 0; i < 100; ++i) ASSERT_EQ(ans[i], static_cast<u8>(i));
    EXPECT_EQ(ans[100], 0x90);
    // five I-blocks, then an R-block for each of the answer's five chained blocks but the last
    ASSERT_EQ(card.seen.size(), 10u);
    for (u32 i = 0; i < 5; ++i) {
        EXPECT_EQ(card.seen[i][1] & 0x80, 0) << "I-block " << i;
        EXPECT_EQ((card.seen[i][1] & 0x20) != 0, i < 4) << "M on all but the last";
        EXPECT_LE(card.seen[i][2], 16);
    }
    for (u32 i = 5; i < 10; ++i) EXPECT_EQ(card.seen[i][1] & 0xc0, 0x80) << "R-block " << i;
}

TEST(CcidT1, WaitingTimeExtensionsAndIfsRequestsAreAnswered) {
    FakeT1Card card;
    card.wtx_before_answer = 3;
    card.ifs_request_before_answer = 1;
    card.answer_body = 2;
    T1Transport t{card};
    Bytes const c = command(4);
    u8 ans[64];
    u32 n = 0;
    ASSERT_TRUE(t.transmit(c.data(), static_cast<u32>(c.size()), ans, sizeof ans, n)) << t.last_error();
    EXPECT_EQ(n, 4u);
    ASSERT_EQ(card.seen.size(), 5u);
    for (u32 i = 1; i <= 3; ++i) EXPECT_EQ(card.seen[i], block(0xe3, {2})) << "S(WTX response) with the same INF";
    EXPECT_EQ(card.seen[4], block(0xe1, {16}));
}

TEST(CcidT1, ADamagedBlockIsAskedForAgain) {
    FakeT1Card card;
    card.damage_next = 2;
    card.answer_body = 3;
    T1Transport t{card};
    Bytes const c = command(4);
    u8 ans[64];
    u32 n = 0;
    ASSERT_TRUE(t.transmit(c.data(), static_cast<u32>(c.size()), ans, sizeof ans, n)) << t.last_error();
    EXPECT_EQ(n, 5u);
    ASSERT_EQ(card.seen.size(), 3u);
    EXPECT_EQ(card.seen[1][1], 0x81) << "R-block, N(R) 0, EDC error";
}

TEST(CcidT1, RefusalsEndTheExchange) {
    Bytes const c = command(4);
    u8 ans[64];
    u32 n = 0;
    {
        FakeT1Card card;
        card.damage_next = 100;
        T1Transport t{card};
        EXPECT_FALSE(t.transmit(c.data(), static_cast<u32>(c.size()), ans, sizeof ans, n));
        EXPECT_STREQ(t.last_error(), "damaged blocks from the card");
        EXPECT_LE(card.seen.size(), 5u) << "three retries at most";
    }
    {
        FakeT1Card card;
        card.abort_instead = true;
        T1Transport t{card};
        EXPECT_FALSE(t.transmit(c.data(), static_cast<u32>(c.size()), ans, sizeof ans, n));
    }
    {
        FakeT1Card card;
        card.answer_body = 100;
        T1Transport t{card};
        EXPECT_FALSE(t.transmit(c.data(), static_cast<u32>(c.size()), ans, 50, n)) << "longer than the buffer";
    }
}

TEST(CcidT1, ApduChannelRunsOnIt) {
    FakeT1Card card;
    card.ifsd = 32;
    card.answer_body = 200;
    T1Transport t{card, 32};
    ApduChannel ch{t, false};
    u8 const data[3] = {1, 2, 3};
    Apdu a;
    a.cla = 0x80;
    a.ins = 0x42;
    a.data = data;
    a.lc = 3;
    a.expect_data = true;
    a.le = 256;
    u16 sw = 0;
    ASSERT_EQ(ch.exchange(a, sw), ApduResult::Ok);
    EXPECT_EQ(sw, 0x9000);
    EXPECT_EQ(ch.len(), 200u);
    EXPECT_EQ(card.commands[0], (Bytes{0x80, 0x42, 0, 0, 3, 1, 2, 3, 0})) << "case 4 with its Le under T=1";
}

TEST(CcidT1, TheAtrGivesTheCardsIfsc) {
    // A T=1 card's ATR: TD1 and TD2 name T=1, TA3 = FE is the IFSC; then T=15 with TA4.
    u8 const t1[] = {0x3b, 0xda, 0x18, 0xff, 0x81, 0xb1, 0xfe, 0x75, 0x1f, 0x03, 0x00, 0x31, 0xc5, 0x73, 0xc0,
                     0x01, 0x40, 0x00, 0x90, 0x00, 0x0c};
    AtrInfo ai;
    ASSERT_TRUE(parse_atr(t1, sizeof t1, ai));
    EXPECT_TRUE(ai.t1);
    EXPECT_FALSE(ai.t0);
    EXPECT_EQ(ai.ifsc, 0xfe);
    // QEMU's emulated card: T=0 only, no IFSC.
    u8 const qemu[] = {0x3b, 0x7a, 0x18, 0x00, 0x00, 0x73, 0x66, 0x74, 0x65, 0x20, 0x63, 0x64, 0x31, 0x34, 0x34};
    ASSERT_TRUE(parse_atr(qemu, sizeof qemu, ai));
    EXPECT_TRUE(ai.t0);
    EXPECT_EQ(ai.ifsc, 0);
}

namespace {

// A reader that answers PC_to_RDR_SetParameters with RDR_to_PC_Parameters naming `protocol`.
class ParametersPipe final : public BulkPipe {
  public:
    u8 protocol{1};
    Bytes sent;
    bool bulk_out(u8 const* d, u32 len) override {
        sent.assign(d, d + len);
        return true;
    }
    bool bulk_in(u8* buf, u32 cap, u32& got) override {
        Bytes a = {0x82, 7, 0, 0, 0, sent.at(5), sent.at(6), 0, 0, protocol};
        a.insert(a.end(), sent.begin() + 10, sent.end());
        if (a.size() > cap) return false;
        memcpy(buf, a.data(), a.size());
        got = static_cast<u32>(a.size());
        return true;
    }
    u32 max_packet() const override { return 64; }
};

}  // namespace

TEST(CcidT1, SetParametersAsksTheReaderForT1WithTheCardsIfsc) {
    ParametersPipe pipe;
    {
        CcidReader reader{pipe};
        ASSERT_EQ(reader.set_parameters_t1(0xfe), ReaderResult::Ok) << reader.last_error();
    }
    ASSERT_EQ(pipe.sent.size(), 17u);
    EXPECT_EQ(pipe.sent[0], 0x61);
    EXPECT_EQ(pipe.sent[1], 7) << "dwLength";
    EXPECT_EQ(pipe.sent[7], 1) << "bProtocolNum T=1";
    EXPECT_EQ(Bytes(pipe.sent.begin() + 10, pipe.sent.end()), (Bytes{0x11, 0x10, 0x00, 0x4d, 0x00, 0xfe, 0x00}))
        << "Fi/Di, LRC, guard time, BWI/CWI, clock stop, IFSC, NAD";
    pipe.protocol = 0;
    CcidReader reader{pipe};
    EXPECT_EQ(reader.set_parameters_t1(32), ReaderResult::Failed) << "the reader stayed in T=0";
}
