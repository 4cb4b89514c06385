// ESP seal and open (vpn/esp): the packet format, and each check of the open path with its
// own counter. Two SA databases play the two ends: "we" and "peer" hold mirrored pairs.
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "crypto/cpu_features.hpp"
#include "tests/unit/prng.hpp"
#include "vpn/esp.hpp"
#include "vpn/be.hpp"

using namespace tv;
using namespace tv::vpn;

namespace {

constexpr u32 kOurSpi = 0xc0010001;
constexpr u32 kPeerSpi = 0xc0020002;

std::vector<u8> ipv4_packet(u64 len, u8 fill = 0x5a) {
    std::vector<u8> p(len, fill);
    p[0] = 0x45;
    put_be16(p.data() + 2, static_cast<u16>(len));
    p[9] = 17;
    return p;
}

struct Ends {
    SaDb we;
    SaDb peer;
    u8 keymat[72];
    EspStats ws, ps;

    explicit Ends(u64 key_bytes = 16) {
        for (unsigned i = 0; i < sizeof keymat; ++i)
            keymat[i] = static_cast<u8>(0x30 + i * 7);
        ChildSaSpec s;
        s.keymat = keymat;
        s.keymat_len = 2 * (key_bytes + 4);
        s.key_bytes = key_bytes;
        s.spi_in = kOurSpi, s.spi_out = kPeerSpi, s.initiator = true;
        EXPECT_TRUE(ok(we.install(s)));
        s.spi_in = kPeerSpi, s.spi_out = kOurSpi, s.initiator = false;
        EXPECT_TRUE(ok(peer.install(s)));
    }
    ~Ends() {
        we.clear();
        peer.clear();
    }

    // Our packet as the peer receives it.
    std::vector<u8> seal(std::vector<u8> const& inner) {
        std::vector<u8> out(esp_sealed_len(inner.size()));
        u64 n = 0;
        SaLimit lim;
        EXPECT_TRUE(ok(esp_seal(*we.outbound(), 0, inner.data(), inner.size(), out.data(),
                                out.size(), &n, &lim, ws)));
        EXPECT_EQ(n, out.size());
        return out;
    }
    EspOpened open(std::vector<u8>& pkt, u64 now_s = 0) { return esp_open(peer, pkt.data(), pkt.size(), ps, now_s); }

    // A packet with an arbitrary plaintext body (trailer included), sealed correctly with our
    // outbound SA: for padding and next-header cases seal() would never produce.
    std::vector<u8> craft(u32 seq, std::vector<u8> const& body) {
        ChildSa& sa = we.outbound()->out;
        std::vector<u8> pkt(16 + body.size() + 16);
        put_be32(pkt.data(), sa.spi);
        put_be32(pkt.data() + 4, seq);
        put_be64(pkt.data() + 8, seq);
        u8 nonce[12];
        memcpy(nonce, sa.salt, 4);
        memcpy(nonce + 4, pkt.data() + 8, 8);
        EXPECT_TRUE(ok(sa.gcm.seal(nonce, pkt.data(), 8, body.data(), pkt.data() + 16, body.size(),
                                   pkt.data() + 16 + body.size())));
        return pkt;
    }
};

std::vector<u8> body_of(std::vector<u8> inner, std::vector<u8> const& pad, u8 next) {
    inner.insert(inner.end(), pad.begin(), pad.end());
    inner.push_back(static_cast<u8>(pad.size()));
    inner.push_back(next);
    return inner;
}

}  // namespace

TEST(EspPackets, SealThenOpenReturnsTheInnerPacketForEverySizeAndKeyLength) {
    for (u64 kb : {16u, 32u}) {
        Ends e(kb);
        for (u64 len = 20; len < 1500; len += 37) {
            auto const inner = ipv4_packet(len, static_cast<u8>(len));
            auto pkt = e.seal(inner);
            EspOpened const r = e.open(pkt);
            ASSERT_EQ(r.verdict, EspVerdict::Ok) << verdict_name(r.verdict) << " len " << len;
            ASSERT_EQ(r.inner_len, len);
            ASSERT_EQ(0, memcmp(pkt.data() + r.inner_off, inner.data(), len));
        }
        EXPECT_EQ(e.ps.opened, e.ws.sealed);
    }
}

TEST(EspPackets, SealedPacketCarriesSpiSequenceAndSequenceAsIvAndIsFourByteAligned) {
    Ends e;
    for (u32 i = 1; i <= 5; ++i) {
        auto const pkt = e.seal(ipv4_packet(20 + i));
        EXPECT_EQ(get_be32(pkt.data()), kPeerSpi);
        EXPECT_EQ(get_be32(pkt.data() + 4), i);
        u8 iv[8];
        put_be64(iv, i);
        EXPECT_EQ(0, memcmp(pkt.data() + 8, iv, 8));
        EXPECT_EQ((pkt.size() - 16 - 16) % 4, 0u);
    }
}

TEST(EspPackets, SealPadsWithOneTwoThreeAndNextHeaderFour) {
    Ends e;
    for (u64 len = 20; len < 24; ++len) {
        auto pkt = e.seal(ipv4_packet(len));
        // Decrypt with the peer's key by hand to see the trailer.
        ChildSa& sa = e.peer.find_inbound(kPeerSpi)->in;
        u8 nonce[12];
        memcpy(nonce, sa.salt, 4);
        memcpy(nonce + 4, pkt.data() + 8, 8);
        u64 const body = pkt.size() - 32;
        std::vector<u8> pt(body);
        ASSERT_TRUE(ok(sa.gcm.open(nonce, pkt.data(), 8, pkt.data() + 16, pt.data(), body,
                                   pkt.data() + 16 + body)));
        u8 const pad = pt[body - 2];
        EXPECT_EQ(pt[body - 1], kNextHeaderIpv4);
        EXPECT_EQ(len + pad + 2, body);
        for (u8 i = 0; i < pad; ++i)
            EXPECT_EQ(pt[len + i], i + 1);
    }
}

TEST(EspPackets, ReplayedPacketIsDroppedAndCounted) {
    Ends e;
    auto pkt = e.seal(ipv4_packet(100));
    auto copy = pkt;
    ASSERT_EQ(e.open(pkt).verdict, EspVerdict::Ok);
    EXPECT_EQ(e.open(copy).verdict, EspVerdict::Replay);
    EXPECT_EQ(e.ps.replay, 1u);
    EXPECT_EQ(e.ps.bad_icv, 0u);
}

// A replayed packet is rejected before decryption: even with a broken ICV it counts as a
// replay, which proves no GCM work was spent on it.
TEST(EspPackets, ReplayIsCheckedBeforeTheIcv) {
    Ends e;
    auto pkt = e.seal(ipv4_packet(100));
    auto copy = pkt;
    ASSERT_EQ(e.open(pkt).verdict, EspVerdict::Ok);
    copy.back() ^= 1;
    EXPECT_EQ(e.open(copy).verdict, EspVerdict::Replay);
}

TEST(EspPackets, ForgedPacketDoesNotMoveTheReplayWindow) {
    Ends e;
    std::vector<std::vector<u8>> pkts;
    for (int i = 0; i < 3; ++i)
        pkts.push_back(e.seal(ipv4_packet(60)));
    // A forgery far ahead: were the window moved before the ICV, 1..3 would fall below it.
    auto forged = pkts[0];
    put_be32(forged.data() + 4, 1'000'000);
    EXPECT_EQ(e.open(forged).verdict, EspVerdict::BadIcv);
    // Nor is the number marked as seen: the real packet 2 still opens after a forged 2.
    auto forged2 = pkts[1];
    forged2[30] ^= 0x10;
    EXPECT_EQ(e.open(forged2).verdict, EspVerdict::BadIcv);
    for (auto& p : pkts)
        EXPECT_EQ(e.open(p).verdict, EspVerdict::Ok);
    EXPECT_EQ(e.ps.bad_icv, 2u);
}

TEST(EspPackets, AnyChangedBitFailsTheIcv) {
    Ends e;
    auto const good = e.seal(ipv4_packet(64));
    for (u64 byte : {4ul, 8ul, 15ul, 16ul, 40ul, good.size() - 17, good.size() - 1}) {
        auto p = good;
        p[byte] ^= 0x01;
        EXPECT_EQ(e.open(p).verdict, EspVerdict::BadIcv) << byte;
    }
    EXPECT_EQ(e.ps.bad_icv, 7u);
    auto p = good;
    EXPECT_EQ(e.open(p).verdict, EspVerdict::Ok);  // the window never moved
}

TEST(EspPackets, UnknownSpiIsDroppedAndCounted) {
    Ends e;
    auto p = e.seal(ipv4_packet(64));
    put_be32(p.data(), 0x12345678);
    EXPECT_EQ(e.open(p).verdict, EspVerdict::UnknownSpi);
    put_be32(p.data(), 0);
    EXPECT_EQ(e.open(p).verdict, EspVerdict::UnknownSpi);
    EXPECT_EQ(e.ps.unknown_spi, 2u);
}

TEST(EspPackets, TruncatedPacketsAreDroppedAndCounted) {
    Ends e;
    auto const good = e.seal(ipv4_packet(64));
    u64 n = 0;
    for (u64 len = 0; len < kEspMinPacket; ++len) {
        auto p = std::vector<u8>(good.begin(), good.begin() + static_cast<long>(len));
        EspOpened const r = esp_open(e.peer, p.data(), len, e.ps, 0);
        EXPECT_EQ(r.verdict, EspVerdict::Truncated) << len;
        ++n;
    }
    EXPECT_EQ(e.ps.truncated, n);
    // Cut short but still long enough to parse: the ICV no longer matches.
    auto cut = std::vector<u8>(good.begin(), good.end() - 5);
    EXPECT_EQ(e.open(cut).verdict, EspVerdict::BadIcv);
}

TEST(EspPackets, BadPaddingIsDroppedAndCounted) {
    Ends e;
    auto const inner = ipv4_packet(21);
    auto p1 = e.craft(1, body_of(inner, {1, 3, 3}, 4));  // not monotonic
    EXPECT_EQ(e.open(p1).verdict, EspVerdict::BadPadding);
    auto p2 = e.craft(2, body_of(inner, {0, 1, 2}, 4));  // starts at 0
    EXPECT_EQ(e.open(p2).verdict, EspVerdict::BadPadding);
    std::vector<u8> tiny = {0xff, 4};  // pad length larger than the body
    auto p3 = e.craft(3, tiny);
    EXPECT_EQ(e.open(p3).verdict, EspVerdict::BadPadding);
    EXPECT_EQ(e.ps.bad_padding, 3u);
    auto p4 = e.craft(4, body_of(inner, {1, 2, 3}, 4));  // the same packet, padded right
    EXPECT_EQ(e.open(p4).verdict, EspVerdict::Ok);
}

TEST(EspPackets, NextHeaderOtherThanIpv4IsDroppedAndCounted) {
    Ends e;
    auto const inner = ipv4_packet(22);
    auto p1 = e.craft(1, body_of(inner, {}, 41));  // IPv6
    EXPECT_EQ(e.open(p1).verdict, EspVerdict::BadNextHeader);
    auto p2 = e.craft(2, body_of(inner, {}, 59));  // a dummy packet: counted apart
    EXPECT_EQ(e.open(p2).verdict, EspVerdict::Dummy);
    EXPECT_EQ(e.ps.bad_next_header, 1u);
    EXPECT_EQ(e.ps.dummy, 1u);
}

TEST(EspPackets, InnerPacketMustBeConsistentIpv4) {
    Ends e;
    u32 seq = 1;
    auto check = [&](std::vector<u8> inner, EspVerdict want) {
        auto p = e.craft(seq++, body_of(inner, {}, 4));
        EXPECT_EQ(e.open(p).verdict, want);
    };
    auto longer = ipv4_packet(40);
    put_be16(longer.data() + 2, 41);  // claims more than was decrypted
    check(longer, EspVerdict::BadInner);
    auto v6 = ipv4_packet(40);
    v6[0] = 0x65;
    check(v6, EspVerdict::BadInner);
    auto short_ihl = ipv4_packet(40);
    short_ihl[0] = 0x44;
    check(short_ihl, EspVerdict::BadInner);
    auto big_ihl = ipv4_packet(40);
    big_ihl[0] = 0x4f;  // 60-byte header in a 40-byte packet
    check(big_ihl, EspVerdict::BadInner);
    check(std::vector<u8>(19, 0x45), EspVerdict::BadInner);
    EXPECT_EQ(e.ps.bad_inner, 5u);
}

TEST(EspPackets, TrafficFlowPaddingAfterTheInnerPacketIsCutOff) {
    Ends e;
    auto inner = ipv4_packet(40);
    put_be16(inner.data() + 2, 30);  // 10 bytes of TFC padding follow the packet
    auto p = e.craft(1, body_of(inner, {1, 2}, 4));
    EspOpened const r = e.open(p);
    ASSERT_EQ(r.verdict, EspVerdict::Ok);
    EXPECT_EQ(r.inner_len, 30u);
}

TEST(EspPackets, EachDropReasonHasItsOwnCounter) {
    Ends e;
    auto a = e.seal(ipv4_packet(50));
    auto replay = a;
    ASSERT_EQ(e.open(a).verdict, EspVerdict::Ok);
    (void)e.open(replay);
    auto icv = e.seal(ipv4_packet(50));
    icv[20] ^= 1;
    (void)e.open(icv);
    std::vector<u8> shortp(10, 0);
    put_be32(shortp.data(), kPeerSpi);
    (void)e.open(shortp);
    auto spi = e.seal(ipv4_packet(50));
    put_be32(spi.data(), 77);
    (void)e.open(spi);
    auto pad = e.craft(100, body_of(ipv4_packet(21), {2}, 4));
    (void)e.open(pad);
    EXPECT_EQ(e.ps.opened, 1u);
    EXPECT_EQ(e.ps.replay, 1u);
    EXPECT_EQ(e.ps.bad_icv, 1u);
    EXPECT_EQ(e.ps.truncated, 1u);
    EXPECT_EQ(e.ps.unknown_spi, 1u);
    EXPECT_EQ(e.ps.bad_padding, 1u);
}

TEST(EspPackets, SealAsksForRekeyAtTheSoftLimitAndStopsBeforeTheSequenceWraps) {
    Ends e;
    SaPair& p = *e.we.outbound();
    auto const inner = ipv4_packet(40);
    std::vector<u8> out(esp_sealed_len(40));
    u64 n;
    SaLimit lim;
    p.out.seq = kSeqSoft - 2;
    ASSERT_TRUE(ok(esp_seal(p, 0, inner.data(), 40, out.data(), out.size(), &n, &lim, e.ws)));
    EXPECT_EQ(lim, SaLimit::Ok);
    ASSERT_TRUE(ok(esp_seal(p, 0, inner.data(), 40, out.data(), out.size(), &n, &lim, e.ws)));
    EXPECT_EQ(lim, SaLimit::Soft);
    p.out.seq = kSeqHard - 1;
    ASSERT_TRUE(ok(esp_seal(p, 0, inner.data(), 40, out.data(), out.size(), &n, &lim, e.ws)));
    EXPECT_EQ(get_be32(out.data() + 4), kSeqHard);  // 2^32 - 1 is the last number used
    EXPECT_EQ(esp_seal(p, 0, inner.data(), 40, out.data(), out.size(), &n, &lim, e.ws),
              Status::Refused);
    EXPECT_EQ(p.out.seq, kSeqHard);
    EXPECT_EQ(e.ws.seal_refused, 1u);
}

TEST(EspPackets, SealRefusesNonIpv4AndTooSmallOutput) {
    Ends e;
    SaPair& p = *e.we.outbound();
    auto inner = ipv4_packet(40);
    std::vector<u8> out(esp_sealed_len(40));
    u64 n;
    SaLimit lim;
    EXPECT_EQ(esp_seal(p, 0, inner.data(), 40, out.data(), out.size() - 1, &n, &lim, e.ws),
              Status::Invalid);
    EXPECT_EQ(esp_seal(p, 0, inner.data(), 19, out.data(), out.size(), &n, &lim, e.ws),
              Status::Invalid);
    inner[0] = 0x60;
    EXPECT_EQ(esp_seal(p, 0, inner.data(), 40, out.data(), out.size(), &n, &lim, e.ws),
              Status::Invalid);
    EXPECT_EQ(p.out.seq, 0u);  // no number spent on a refusal
}

TEST(EspPackets, HardLifetimeStopsSealing) {
    Ends e;
    SaPair& p = *e.we.outbound();
    p.life.hard.packets = 2;
    auto const inner = ipv4_packet(40);
    std::vector<u8> out(esp_sealed_len(40));
    u64 n;
    SaLimit lim;
    ASSERT_TRUE(ok(esp_seal(p, 0, inner.data(), 40, out.data(), out.size(), &n, &lim, e.ws)));
    ASSERT_TRUE(ok(esp_seal(p, 0, inner.data(), 40, out.data(), out.size(), &n, &lim, e.ws)));
    EXPECT_EQ(lim, SaLimit::Hard);
    EXPECT_EQ(esp_seal(p, 0, inner.data(), 40, out.data(), out.size(), &n, &lim, e.ws),
              Status::Refused);
}

TEST(EspPackets, InboundSaPastItsHardLifetimeTakesNoMorePacketsAndCountsThem) {
    Ends e;
    SaPair& in = *e.peer.find_inbound(kPeerSpi);  // the receiving end's pair, installed at 0 s
    in.life.hard.seconds = 30;
    auto a = e.seal(ipv4_packet(40));
    auto b = e.seal(ipv4_packet(40));
    EXPECT_EQ(e.open(a, 29).verdict, EspVerdict::Ok);
    EspOpened const late = e.open(b, 30);  // authentic and fresh, but the SA has expired
    EXPECT_EQ(late.verdict, EspVerdict::Expired);
    EXPECT_EQ(e.ps.expired, 1u);
    EXPECT_EQ(e.ps.opened, 1u);
    EXPECT_STREQ(verdict_name(late.verdict), "SA past its hard lifetime");
    // A byte or packet limit ends it the same way, whatever the time.
    Ends f;
    SaPair& p = *f.peer.find_inbound(kPeerSpi);
    p.life.hard.packets = 1;
    auto c = f.seal(ipv4_packet(40));
    auto d = f.seal(ipv4_packet(40));
    EXPECT_EQ(f.open(c).verdict, EspVerdict::Ok);
    EXPECT_EQ(f.open(d).verdict, EspVerdict::Expired);
}

// Rekey: the peer keeps sending on the old SA for a while; both inbound SAs open, and our
// outbound switches to the new SA at once.
TEST(EspPackets, AfterARekeyBothInboundSasOpenAndOutboundUsesTheNewOne) {
    Ends e;
    auto old_pkt = e.seal(ipv4_packet(40));
    u8 km2[40];
    for (u8 i = 0; i < 40; ++i)
        km2[i] = static_cast<u8>(0x99 ^ i);
    ChildSaSpec s;
    s.keymat = km2, s.keymat_len = 40, s.key_bytes = 16;
    s.spi_in = kOurSpi + 1, s.spi_out = kPeerSpi + 1, s.initiator = true;
    ASSERT_TRUE(ok(e.we.install(s)));
    s.spi_in = kPeerSpi + 1, s.spi_out = kOurSpi + 1, s.initiator = false;
    ASSERT_TRUE(ok(e.peer.install(s)));
    auto new_pkt = e.seal(ipv4_packet(40));
    EXPECT_EQ(get_be32(new_pkt.data()), kPeerSpi + 1);
    EXPECT_EQ(e.open(old_pkt).verdict, EspVerdict::Ok);
    EXPECT_EQ(e.open(new_pkt).verdict, EspVerdict::Ok);
    ASSERT_TRUE(ok(e.peer.remove_by_inbound(kPeerSpi)));  // the old SA deleted
    auto late = old_pkt;
    EXPECT_EQ(e.open(late).verdict, EspVerdict::UnknownSpi);
}

TEST(EspPackets, RandomGarbageNeverOpens) {
    Ends e;
    test::Prng rng{3948};
    for (int i = 0; i < 2000; ++i) {
        std::vector<u8> p(rng.below(200));
        for (auto& b : p)
            b = static_cast<u8>(rng.next());
        if (p.size() >= 4 && rng.chance(2))
            put_be32(p.data(), kPeerSpi);
        EXPECT_NE(esp_open(e.peer, p.data(), p.size(), e.ps, 0).verdict, EspVerdict::Ok);
    }
}

// The sender on the AES-NI engine, the receiver on mbedTLS, and the other way round: the
// engine is a per-SA choice that the wire never sees.
TEST(EspPackets, SasOnDifferentGcmEnginesInteroperate) {
    if (!crypto::cpu_has_aesni() || !crypto::cpu_has_pclmul())
        GTEST_SKIP() << "no AES-NI + PCLMULQDQ";
    for (u64 kb : {16u, 32u}) {
        u8 km[72];
        for (u8 i = 0; i < sizeof km; ++i)
            km[i] = static_cast<u8>(i * 11 + 1);
        SaDb a, b;
        ChildSaSpec s;
        s.keymat = km, s.keymat_len = 2 * (kb + 4), s.key_bytes = kb;
        s.spi_in = 1, s.spi_out = 2, s.initiator = true, s.engine = crypto::GcmEngine::AesNi;
        ASSERT_TRUE(ok(a.install(s)));
        s.spi_in = 2, s.spi_out = 1, s.initiator = false, s.engine = crypto::GcmEngine::MbedTls;
        ASSERT_TRUE(ok(b.install(s)));
        EspStats st;
        for (u64 len : {20u, 333u, 1400u}) {
            auto const inner = ipv4_packet(len, 7);
            for (int dir = 0; dir < 2; ++dir) {
                SaDb& tx = dir == 0 ? a : b;
                SaDb& rx = dir == 0 ? b : a;
                std::vector<u8> pkt(esp_sealed_len(len));
                u64 n;
                SaLimit lim;
                ASSERT_TRUE(ok(esp_seal(*tx.outbound(), 0, inner.data(), len, pkt.data(),
                                        pkt.size(), &n, &lim, st)));
                EspOpened const r = esp_open(rx, pkt.data(), n, st, 0);
                ASSERT_EQ(r.verdict, EspVerdict::Ok) << kb << " " << len << " " << dir;
                EXPECT_EQ(0, memcmp(pkt.data() + r.inner_off, inner.data(), len));
            }
        }
        a.clear();
        b.clear();
    }
}
