// The IKE message layer (vpn/ike/message, payloads, sk): building and parsing headers and
// payload chains, every length check, critical-bit handling, SK/SKF sealing and opening.
#include <gtest/gtest.h>

#include "vpn/ike/message.hpp"
#include "vpn/ike/payloads.hpp"
#include "vpn/ike/sk.hpp"

using namespace tv;
using namespace tv::vpn::ike;

namespace {

Header hdr(u8 exchange, u8 flags, u32 id) {
    return Header{0x1122334455667788ull, 0x99, 0, 0, exchange, flags, id, 0};
}

// A small IKE_SA_INIT-like message: SA, KE, Nonce, Notify.
size_t build_init(u8* buf, size_t cap) {
    ChainBuilder cb{buf, cap};
    cb.header(hdr(34, flag::kInitiator, 0));
    Offer o{Protocol::Ike, 0, {256, 128}, {31, 19, 14}};
    add_sa(cb, o);
    u8 ke[32] = {1, 2, 3};
    add_ke(cb, 31, ke, sizeof ke);
    u8 n[32] = {9};
    add_nonce(cb, n, sizeof n);
    add_notify(cb, Protocol::None, notify::kFragmentationSupported, nullptr, 0);
    return cb.finish();
}

SkKey key16() {
    SkKey k{};
    for (u8 i = 0; i < 16; ++i)
        k.key[i] = i;
    k.salt[0] = 0xaa;
    k.key_len = 16;
    return k;
}

}  // namespace

TEST(IkeMessage, BuiltMessageParsesBackWithItsPayloadsInOrder) {
    u8 buf[512];
    size_t const len = build_init(buf, sizeof buf);
    ASSERT_GT(len, kHeaderBytes);
    Header h{};
    PayloadList pl{};
    ASSERT_EQ(parse_message(buf, len, h, pl), ParseError::Ok);
    EXPECT_EQ(h.spi_i, 0x1122334455667788ull);
    EXPECT_EQ(h.exchange, 34);
    EXPECT_EQ(h.length, len);
    ASSERT_EQ(pl.count, 4);
    EXPECT_EQ(pl.item[0].type, static_cast<u8>(Payload::SA));
    EXPECT_EQ(pl.item[1].type, static_cast<u8>(Payload::KE));
    EXPECT_EQ(pl.item[2].type, static_cast<u8>(Payload::Nonce));
    EXPECT_EQ(pl.item[3].type, static_cast<u8>(Payload::Notify));
    u16 g = 0;
    u8 const* d = nullptr;
    size_t dl = 0;
    ASSERT_EQ(decode_ke(buf + pl.item[1].off, pl.item[1].len, g, d, dl), ParseError::Ok);
    EXPECT_EQ(g, 31);
    EXPECT_EQ(dl, 32u);
    Notify n{};
    ASSERT_EQ(decode_notify(buf + pl.item[3].off, pl.item[3].len, n), ParseError::Ok);
    EXPECT_EQ(n.type, notify::kFragmentationSupported);
}

TEST(IkeMessage, EveryTruncationIsRefusedWithoutReadingPastTheEnd) {
    u8 buf[512];
    size_t const len = build_init(buf, sizeof buf);
    for (size_t cut = 0; cut < len; ++cut) {
        u8 copy[512];
        for (size_t i = 0; i < cut; ++i)
            copy[i] = buf[i];
        if (cut >= kHeaderBytes)
            put32(copy + 24, static_cast<u32>(cut));  // header agrees; the chain does not
        Header h{};
        PayloadList pl{};
        EXPECT_NE(parse_message(copy, cut, h, pl), ParseError::Ok) << cut;
    }
}

TEST(IkeMessage, HeaderLengthMustEqualTheDatagramLength) {
    u8 buf[512];
    size_t const len = build_init(buf, sizeof buf);
    Header h{};
    PayloadList pl{};
    EXPECT_EQ(parse_message(buf, len - 1, h, pl), ParseError::BadLength);
    put32(buf + 24, static_cast<u32>(len + 1));
    EXPECT_EQ(parse_message(buf, len, h, pl), ParseError::BadLength);
}

TEST(IkeMessage, VersionOtherThanTwoIsRefused) {
    u8 buf[512];
    size_t const len = build_init(buf, sizeof buf);
    buf[17] = 0x30;
    Header h{};
    PayloadList pl{};
    EXPECT_EQ(parse_message(buf, len, h, pl), ParseError::BadVersion);
}

TEST(IkeMessage, PayloadLengthBelowFourOrBeyondTheMessageIsRefused) {
    u8 buf[512];
    size_t const len = build_init(buf, sizeof buf);
    Header h{};
    PayloadList pl{};
    put16(buf + kHeaderBytes + 2, 3);
    EXPECT_EQ(parse_message(buf, len, h, pl), ParseError::BadLength);
    put16(buf + kHeaderBytes + 2, static_cast<u16>(len));
    EXPECT_EQ(parse_message(buf, len, h, pl), ParseError::BadLength);
}

TEST(IkeMessage, UnknownCriticalPayloadIsRefusedAndUnknownNonCriticalSkipped) {
    u8 buf[128];
    ChainBuilder cb{buf, sizeof buf};
    cb.header(hdr(37, flag::kResponse, 2));
    size_t const p = cb.begin(static_cast<Payload>(200));
    cb.w().u32_(0xdeadbeef);
    cb.end(p);
    add_notify(cb, Protocol::None, notify::kCookie, nullptr, 0);
    size_t const len = cb.finish();
    Header h{};
    PayloadList pl{};
    ASSERT_EQ(parse_message(buf, len, h, pl), ParseError::Ok);
    ASSERT_EQ(pl.count, 1);
    EXPECT_EQ(pl.item[0].type, static_cast<u8>(Payload::Notify));
    buf[kHeaderBytes + 1] = 0x80;  // the unknown one becomes critical
    EXPECT_EQ(parse_message(buf, len, h, pl), ParseError::UnsupportedCritical);
    EXPECT_EQ(pl.unknown_critical, 200);
    buf[kHeaderBytes + 1] = 0;
    buf[kHeaderBytes + 8 + 1] = 0x80;  // a known payload's critical bit is fine
    EXPECT_EQ(parse_message(buf, len, h, pl), ParseError::Ok);
}

TEST(IkeMessage, EncryptedPayloadMustBeLast) {
    u8 buf[256];
    ChainBuilder cb{buf, sizeof buf};
    cb.header(hdr(37, 0, 1));
    size_t const p = cb.begin(Payload::SK);
    cb.w().take(30);
    cb.end(p);
    add_notify(cb, Protocol::None, notify::kCookie, nullptr, 0);
    size_t const len = cb.finish();
    Header h{};
    PayloadList pl{};
    EXPECT_EQ(parse_message(buf, len, h, pl), ParseError::BadOrder);
}

TEST(IkeMessage, BuilderOverflowIsReportedNotWritten) {
    u8 buf[64] = {};
    ChainBuilder cb{buf, 40};
    cb.header(hdr(34, 0, 0));
    u8 big[64] = {};
    add_nonce(cb, big, sizeof big);
    EXPECT_EQ(cb.finish(), 0u);
    EXPECT_EQ(buf[40], 0);
}

TEST(IkeSa, ReplyWithOneProposalIsDecodedAndMatchedAgainstTheOffer) {
    u8 buf[256];
    ChainBuilder cb{buf, sizeof buf};
    Offer reply{Protocol::Ike, 0, {128, 0}, {19, 0, 0}};
    add_sa(cb, reply);
    ASSERT_NE(cb.finish(), 0u);
    Chosen c{};
    ASSERT_EQ(decode_sa_reply(buf + 4, get16(buf + 2) - 4u, c), ParseError::Ok);
    EXPECT_EQ(c.encr, transform::kEncrAesGcm16);
    EXPECT_EQ(c.key_bits, 128);
    EXPECT_EQ(c.prf, transform::kPrfHmacSha256);
    EXPECT_EQ(c.dh, 19);
    Offer ours{Protocol::Ike, 0, {256, 128}, {31, 19, 14}};
    EXPECT_TRUE(chosen_matches(ours, c));
    Offer no19{Protocol::Ike, 0, {256, 128}, {31, 14, 0}};
    EXPECT_FALSE(chosen_matches(no19, c));
}

TEST(IkeSa, OfferWithManyTransformsIsNotAcceptedAsAReply) {
    // Our own offer lists the DH transform three times: a reply may not.
    u8 buf[256];
    ChainBuilder cb{buf, sizeof buf};
    add_sa(cb, Offer{Protocol::Ike, 0, {256, 128}, {31, 19, 14}});
    ASSERT_NE(cb.finish(), 0u);
    Chosen c{};
    EXPECT_EQ(decode_sa_reply(buf + 4, get16(buf + 2) - 4u, c), ParseError::BadPayload);
}

TEST(IkeSa, EspReplyCarriesTheResponderSpi) {
    u8 buf[256];
    ChainBuilder cb{buf, sizeof buf};
    add_sa(cb, Offer{Protocol::Esp, 0xc0ffee01, {256, 0}, {}});
    ASSERT_NE(cb.finish(), 0u);
    Chosen c{};
    ASSERT_EQ(decode_sa_reply(buf + 4, get16(buf + 2) - 4u, c), ParseError::Ok);
    EXPECT_EQ(c.spi_len, 4);
    EXPECT_EQ(get32(c.spi), 0xc0ffee01u);
    EXPECT_TRUE(chosen_matches(Offer{Protocol::Esp, 1, {128, 256}, {}}, c));
    // A transform length running past the proposal.
    put16(buf + 4 + 12 + 2, 200);
    EXPECT_NE(decode_sa_reply(buf + 4, get16(buf + 2) - 4u, c), ParseError::Ok);
}

TEST(IkeTs, SelectorsRoundTripAndBadLengthsAreRefused) {
    u8 buf[128];
    ChainBuilder cb{buf, sizeof buf};
    Ts4 t{0, 0, 65535, {10, 1, 0, 0}, {10, 1, 255, 255}};
    add_ts(cb, Payload::TSr, &t, 1);
    ASSERT_NE(cb.finish(), 0u);
    Ts4 out[kMaxTs];
    u8 n = 0, skipped = 0;
    ASSERT_EQ(decode_ts(buf + 4, get16(buf + 2) - 4u, out, n, skipped), ParseError::Ok);
    ASSERT_EQ(n, 1);
    EXPECT_EQ(out[0].hi[1], 1);
    EXPECT_EQ(out[0].port_hi, 65535);
    put16(buf + 4 + 4 + 2, 17);
    EXPECT_NE(decode_ts(buf + 4, get16(buf + 2) - 4u, out, n, skipped), ParseError::Ok);
}

TEST(IkeCp, ReplyGivesAddressAndDnsAndRefusesOddSizes) {
    u8 body[] = {2, 0, 0, 0, 0, 1, 0, 4, 10, 3, 0, 1, 0, 3, 0, 4, 10, 3, 0, 53};
    CpReply r{};
    ASSERT_EQ(decode_cp(body, sizeof body, r), ParseError::Ok);
    EXPECT_TRUE(r.has_addr);
    EXPECT_EQ(r.addr[3], 1);
    EXPECT_EQ(r.dns_count, 1);
    EXPECT_EQ(r.dns[0][3], 53);
    body[7] = 3;
    EXPECT_NE(decode_cp(body, sizeof body, r), ParseError::Ok);
    body[7] = 40;
    EXPECT_EQ(decode_cp(body, sizeof body, r), ParseError::BadLength);
}

TEST(IkeDelete, SpiCountMustMatchTheLength) {
    u8 body[] = {3, 4, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    Delete d{};
    ASSERT_EQ(decode_delete(body, sizeof body, d), ParseError::Ok);
    EXPECT_EQ(d.count, 2);
    body[3] = 3;
    EXPECT_EQ(decode_delete(body, sizeof body, d), ParseError::BadLength);
}

TEST(IkeSk, SealedMessageOpensAndAnyFlippedBitIsRefused) {
    u8 inner[128];
    ChainBuilder in{inner, sizeof inner};
    add_notify(in, Protocol::None, notify::kInitialContact, nullptr, 0);
    size_t const ilen = in.finish();
    u8 buf[256];
    ChainBuilder cb{buf, sizeof buf};
    cb.header(hdr(35, flag::kInitiator, 1));
    SkKey const k = key16();
    size_t const len = seal_sk(cb, in.first(), inner, ilen, k, 7);
    ASSERT_NE(len, 0u);
    for (size_t bit = 0; bit < len * 8; bit += 5) {
        u8 copy[256];
        for (size_t i = 0; i < len; ++i)
            copy[i] = buf[i];
        copy[bit / 8] ^= static_cast<u8>(1u << (bit % 8));
        Header h{};
        PayloadList pl{};
        if (parse_message(copy, len, h, pl) != ParseError::Ok || pl.count != 1)
            continue;
        u8* plain = nullptr;
        size_t plen = 0;
        EXPECT_NE(open_sk(copy, pl.item[0], k, plain, plen), ParseError::Ok) << bit;
    }
    Header h{};
    PayloadList pl{};
    ASSERT_EQ(parse_message(buf, len, h, pl), ParseError::Ok);
    EXPECT_EQ(pl.inner_first, static_cast<u8>(Payload::Notify));
    u8* plain = nullptr;
    size_t plen = 0;
    ASSERT_EQ(open_sk(buf, pl.item[0], k, plain, plen), ParseError::Ok);
    ASSERT_EQ(plen, ilen);
    PayloadList inside{};
    ASSERT_EQ(parse_chain(plain, 0, plen, pl.inner_first, inside), ParseError::Ok);
    EXPECT_EQ(inside.count, 1);
}

TEST(IkeSk, FragmentsReassembleInAnyOrderAndForeignOnesAreRefused) {
    u8 inner[300];
    for (size_t i = 0; i < sizeof inner; ++i)
        inner[i] = static_cast<u8>(i);
    SkKey const k = key16();
    u8 msgs[3][256];
    size_t lens[3];
    for (u16 f = 0; f < 3; ++f) {
        ChainBuilder cb{msgs[f], sizeof msgs[f]};
        cb.header(hdr(35, flag::kResponse, 1));
        lens[f] = seal_skf(cb, 39, static_cast<u16>(f + 1), 3, inner + f * 100, 100, k, 10u + f);
        ASSERT_NE(lens[f], 0u);
    }
    static Reassembly r;
    r.reset();
    int const order[3] = {2, 0, 1};
    for (int j = 0; j < 3; ++j) {
        int const f = order[j];
        Header h{};
        PayloadList pl{};
        ASSERT_EQ(parse_message(msgs[f], lens[f], h, pl), ParseError::Ok);
        u16 num = 0, total = 0;
        u8* plain = nullptr;
        size_t plen = 0;
        ASSERT_EQ(open_skf(msgs[f], pl.item[0], k, num, total, plain, plen), ParseError::Ok);
        auto const res = r.add(1, num, total, pl.inner_first, plain, plen);
        EXPECT_EQ(res, j == 2 ? Reassembly::Result::Complete : Reassembly::Result::Incomplete);
    }
    ASSERT_EQ(r.size(), sizeof inner);
    EXPECT_EQ(r.first(), 39);
    for (size_t i = 0; i < sizeof inner; ++i)
        ASSERT_EQ(r.data()[i], inner[i]);
    EXPECT_EQ(r.add(1, 4, 3, 0, inner, 1), Reassembly::Result::Refused);
    EXPECT_EQ(r.add(1, 1, 17, 0, inner, 1), Reassembly::Result::Refused);
}
