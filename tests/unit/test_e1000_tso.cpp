// TCP segmentation in copy-out mode (drivers/nic/tx_tso): a guest TSO send is cut into the
// frames the wire would have carried, each with its own IPv4 length, id and checksum and its
// own TCP sequence number, flags and checksum, before the switch's policy sees them; a context
// that does not describe the packet is refused as a whole and counted. First on hand-built
// packets, then end to end through the mediator's fake rings.
#include <gtest/gtest.h>

#include <vector>

#include "drivers/nic/tx_tso.hpp"
#include "tests/unit/test_e1000_fake.hpp"

namespace tv::nic::test {
namespace {

constexpr MacAddr kMon{{0x52, 0x54, 0x00, 0xAA, 0xBB, 0x01}};
constexpr MacAddr kGuest{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
constexpr MacAddr kPeer{{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};
constexpr u32 kHdr = 14 + 20 + 20;
constexpr u32 kSeq = 0xFFFFF000;  // wraps inside the packet
constexpr u16 kId = 0xFFFE;       // wraps too
constexpr u8 kAck = 0x10, kFin = 0x01, kPsh = 0x08, kCwr = 0x80;

// Ethernet, IPv4 (10.0.0.2 -> 10.0.0.1, id kId, DF) and TCP (seq kSeq, the given flags), then
// `payload` bytes counting up. The length and checksum fields hold what Linux leaves there
// for the device (the IPv4 length 0, the TCP field the pseudo header's sum without length).
std::vector<u8> tso_packet(u32 payload, u8 flags = kAck | kFin | kPsh | kCwr) {
    std::vector<u8> p = eth(kPeer, kGuest, 0x0800, kHdr + payload, 0);
    u8 const ip[20] = {0x45, 0, 0, 0, static_cast<u8>(kId >> 8), static_cast<u8>(kId), 0x40, 0, 64, 6, 0, 0,
                       10, 0, 0, 2, 10, 0, 0, 1};
    memcpy(p.data() + 14, ip, 20);
    u8 const tcp[20] = {0x30, 0x39, 0x00, 0x50, static_cast<u8>(kSeq >> 24), static_cast<u8>(kSeq >> 16),
                        static_cast<u8>(kSeq >> 8), static_cast<u8>(kSeq), 0, 0, 0, 1, 0x50, flags, 0xFF, 0xFF,
                        0x1E, 0x0B, 0, 0};  // 0x1E0B: 10.0.0.2 + 10.0.0.1 + 6, as the seed
    memcpy(p.data() + 34, tcp, 20);
    for (u32 i = 0; i < payload; ++i) p[kHdr + i] = static_cast<u8>(i * 7 + i / 251);
    return p;
}

TsoContext context(u32 mss, u32 paylen) { return TsoContext{true, true, true, kHdr, mss, paylen, 14, 34}; }

u32 be16(u8 const* p) { return u32{p[0]} << 8 | p[1]; }
u32 be32(u8 const* p) { return be16(p) << 16 | be16(p + 2); }
u16 fold(u8 const* p, u32 len, u32 sum = 0) {
    for (u32 i = 0; i < len; i += 2) sum += u32{p[i]} << 8 | (i + 1 < len ? p[i + 1] : 0);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<u16>(sum);
}
// Both checksums of one frame verify: the IPv4 header, and TCP over its pseudo header.
void expect_valid_sums(std::vector<u8> const& f) {
    EXPECT_EQ(fold(f.data() + 14, 20), 0xFFFF) << "IPv4 header checksum";
    u32 const tcp_len = static_cast<u32>(f.size()) - 34;
    u32 const pseudo = be16(&f[26]) + be16(&f[28]) + be16(&f[30]) + be16(&f[32]) + 6 + tcp_len;
    EXPECT_EQ(fold(f.data() + 34, tcp_len, pseudo), 0xFFFF) << "TCP checksum";
}

struct Frames {
    std::vector<std::vector<u8>> got;
    static void sink(void* ctx, u8 const* f, u32 len) { static_cast<Frames*>(ctx)->got.emplace_back(f, f + len); }
};

TsoVerdict segment(std::vector<u8> const& p, TsoContext const& c, Frames* out, u32* n) {
    static u8 scratch[1514];
    return tso_segment(p.data(), static_cast<u32>(p.size()), c, scratch, sizeof scratch, Frames::sink, out, n);
}

TEST(E1000Tso, ASendIsCutIntoMssFramesWithTheirOwnHeaders) {
    auto const p = tso_packet(2500);
    Frames out;
    u32 n = 0;
    ASSERT_EQ(segment(p, context(1000, 2500), &out, &n), TsoVerdict::Ok);
    ASSERT_EQ(n, 3u);
    ASSERT_EQ(out.got.size(), 3u);
    u32 const sizes[3] = {1000, 1000, 500};
    for (u32 i = 0; i < 3; ++i) {
        auto const& f = out.got[i];
        ASSERT_EQ(f.size(), kHdr + sizes[i]) << i;
        EXPECT_EQ(0, memcmp(f.data(), p.data(), 14)) << "the Ethernet header is kept";
        EXPECT_EQ(be16(&f[16]), 40 + sizes[i]) << "IPv4 total length of frame " << i;
        EXPECT_EQ(be16(&f[18]), (kId + i) & 0xFFFF) << "IPv4 id of frame " << i;
        EXPECT_EQ(be32(&f[38]), kSeq + 1000 * i) << "TCP sequence number of frame " << i;
        EXPECT_EQ(0, memcmp(f.data() + kHdr, p.data() + kHdr + 1000 * i, sizes[i])) << "payload of frame " << i;
        expect_valid_sums(f);
    }
    EXPECT_EQ(out.got[0][47], kAck | kCwr) << "CWR on the first only, FIN and PSH not yet";
    EXPECT_EQ(out.got[1][47], kAck);
    EXPECT_EQ(out.got[2][47], kAck | kFin | kPsh) << "FIN and PSH on the last only";
}

TEST(E1000Tso, APayloadOfExactlyOneMssIsOneFrame) {
    auto const p = tso_packet(1460, kAck | kPsh);
    Frames out;
    u32 n = 0;
    ASSERT_EQ(segment(p, context(1460, 1460), &out, &n), TsoVerdict::Ok);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(out.got[0].size(), 1514u);
    EXPECT_EQ(out.got[0][47], kAck | kPsh);
    expect_valid_sums(out.got[0]);
}

struct Bad {
    char const* what;
    TsoContext ctx;
    u32 payload;
    TsoVerdict want;
};

// Each malformed context is refused before any frame is made.
TEST(E1000Tso, MalformedContextsAreRefusedWhole) {
    TsoContext no_tse = context(1000, 2500);
    no_tse.tse = false;
    TsoContext past = context(1000, 2500);
    past.hdrlen = kHdr + 2501;
    TsoContext udp = context(1000, 2500);
    udp.tcp = false;
    TsoContext v6 = context(1000, 2500);
    v6.ipv4 = false;
    TsoContext short_hdr = context(1000, 2500);
    short_hdr.hdrlen = kHdr - 4;  // TCP would not end at HDRLEN
    short_hdr.paylen = 2504;
    TsoContext tcp_outside = context(1000, 2500);
    tcp_outside.tucss = 40;
    Bad const cases[] = {
        {"no TSE in the context", no_tse, 2500, TsoVerdict::NoTsoContext},
        {"HDRLEN beyond the frame", past, 2500, TsoVerdict::HeaderBeyondFrame},
        {"HDRLEN 0", TsoContext{true, true, true, 0, 1000, 2500, 14, 34}, 2500, TsoVerdict::HeaderBeyondFrame},
        {"MSS 0", context(0, 2500), 2500, TsoVerdict::ZeroMss},
        {"a total over 64 KiB", context(1000, 65536), 65536, TsoVerdict::TooLong},
        {"UDP", udp, 2500, TsoVerdict::NotTcp},
        {"IPv6", v6, 2500, TsoVerdict::NotIpv4},
        {"a header shorter than TCP's", short_hdr, 2500, TsoVerdict::BadHeaders},
        {"TCP not where IPv4 ends", tcp_outside, 2500, TsoVerdict::BadHeaders},
        {"PAYLEN not the payload", context(1000, 2400), 2500, TsoVerdict::LengthMismatch},
        {"no payload", context(1000, 0), 0, TsoVerdict::NoPayload},
        {"MSS larger than a frame", context(1461, 2500), 2500, TsoVerdict::SegmentTooBig},
    };
    for (Bad const& b : cases) {
        Frames out;
        u32 n = 7;
        EXPECT_EQ(segment(tso_packet(b.payload), b.ctx, &out, &n), b.want) << b.what;
        EXPECT_EQ(n, 0u) << b.what;
        EXPECT_TRUE(out.got.empty()) << b.what;
    }
    // The header itself says it is not TCP, or not IPv4.
    auto p = tso_packet(2500);
    p[23] = 17;
    Frames out;
    u32 n = 0;
    EXPECT_EQ(segment(p, context(1000, 2500), &out, &n), TsoVerdict::NotTcp);
    p = tso_packet(2500);
    p[14] = 0x65;
    EXPECT_EQ(segment(p, context(1000, 2500), &out, &n), TsoVerdict::NotIpv4);
    EXPECT_TRUE(out.got.empty());
}

TEST(E1000Tso, TheContextDescriptorsFieldsAreRead) {
    // TUCMD TSE|IP|TCP, PAYLEN 2500, HDRLEN 54, MSS 1000, IPCSS 14, TUCSS 34.
    e1000::TxDesc const d{u64{14} | u64{24} << 8 | u64{33} << 16 | u64{34} << 32 | u64{50} << 40,
                          2500u | e1000::kTxDtypContext << 20 | u32{0x07 | e1000::kTxCmdDext} << 24, 0, kHdr, 1000};
    TsoContext const c = tso_context(d);
    EXPECT_TRUE(c.tse && c.ipv4 && c.tcp);
    EXPECT_EQ(c.hdrlen, kHdr);
    EXPECT_EQ(c.mss, 1000u);
    EXPECT_EQ(c.paylen, 2500u);
    EXPECT_EQ(c.ipcss, 14u);
    EXPECT_EQ(c.tucss, 34u);
}

// ---- end to end: the guest's descriptors, the mediator in copy-out mode, the policy ---------

constexpr u64 kTxRing = kGuestBase + 0x1000, kTxData = kGuestBase + 0x80000;
constexpr u32 kSlots = 16;

struct Recorder final : sw::ForwardingPolicy {
    bool copy_out() const override { return true; }
    sw::Dest from_wire(sw::Frame) override { return sw::Dest::Guest; }
    sw::Dest from_guest(sw::Frame f) override {
        seen.emplace_back(f.data, f.data + f.len);
        return sw::Dest::Wire;
    }
    sw::Dest from_monitor(sw::Frame) override { return sw::Dest::Wire; }
    std::vector<std::vector<u8>> seen;
};

class E1000TsoCopyOut : public ::testing::Test {
  protected:
    void SetUp() override {
        med.init(&nic, mm.dma(), kMon);
        med.set_policy(&vpn);
        w(Reg::Tdbal, static_cast<u32>(kTxRing));
        w(Reg::Tdlen, kSlots * 16);
        w(Reg::Tctl, kTctlEn | kTctlPsp);
    }
    void w(Reg r, u32 v) { med.write_sized(off(r), 4, v); }
    void put(u32 idx, TxDesc const& d) { memcpy(nic.g(kTxRing + 16 * idx), &d, 16); }
    static TxDesc tso_context_desc(u32 paylen, u16 mss) {
        return TxDesc{u64{14} | u64{24} << 8 | u64{33} << 16 | u64{34} << 32 | u64{50} << 40,
                      paylen | kTxDtypContext << 20 | u32{0x07 | kTxCmdDext} << 24, 0, kHdr, mss};
    }
    static TxDesc tso_data(u64 at, u32 len, bool eop) {
        u8 const cmd = kTxCmdDext | kTxCmdTse | kTxCmdIfcs | (eop ? kTxCmdEop | kTxCmdRs : 0);
        return TxDesc{at, len | kTxDtypData << 20 | u32{cmd} << 24, 0, kTxPoptsIxsm | kTxPoptsTxsm, 0};
    }
    // As Linux's e1000 lays a TSO skb out: the headers in one buffer, the payload in pages.
    void guest_sends_tso(std::vector<u8> const& p, u16 mss, u32 paylen) {
        memcpy(nic.g(kTxData), p.data(), p.size());
        u32 const payload = static_cast<u32>(p.size()) - kHdr, first = payload / 2;
        put(0, tso_context_desc(paylen, mss));
        put(1, tso_data(kTxData, kHdr, false));
        put(2, tso_data(kTxData + kHdr, first, false));
        put(3, tso_data(kTxData + kHdr + first, payload - first, true));
        w(Reg::Tdt, 4);
    }

    FakeNic nic;
    MonitorMem mm;
    E1000Mediator med;
    Recorder vpn;
};

TEST_F(E1000TsoCopyOut, AGuestTsoSendReachesThePolicyAsMssFrames) {
    auto const p = tso_packet(2500);
    guest_sends_tso(p, 1000, 2500);
    ASSERT_EQ(vpn.seen.size(), 3u);
    for (u32 i = 0; i < 3; ++i) {
        EXPECT_EQ(be32(&vpn.seen[i][38]), kSeq + 1000 * i);
        expect_valid_sums(vpn.seen[i]);
    }
    EXPECT_EQ(vpn.seen[2].size(), kHdr + 500);
    EXPECT_EQ(med.counters().tx_tso_packets, 1u);
    EXPECT_EQ(med.counters().tx_tso_segments, 3u);
    EXPECT_EQ(med.counters().tx_guest_copied, 3u);
    EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxTso)], 0u);
    EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxCopy)], 0u);
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 3u) << "the policy sent each frame to the wire";
    EXPECT_EQ(nic.sent[0].bytes, vpn.seen[0]);
    EXPECT_EQ(static_cast<u32>(med.read_sized(off(Reg::Tdh), 4)), 4u) << "every descriptor completed";
    EXPECT_EQ(nic.g(kTxRing + 16 * 3 + 12)[0] & kTxStatDd, kTxStatDd);
}

TEST_F(E1000TsoCopyOut, AMalformedContextIsRefusedCountedAndTheRingMovesOn) {
    guest_sends_tso(tso_packet(2500), 0, 2500);  // MSS 0
    EXPECT_TRUE(vpn.seen.empty());
    EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxTso)], 1u);
    ASSERT_EQ(nic.refusals.size(), 1u);
    EXPECT_EQ(nic.refusals[0], "tx-tso");
    EXPECT_EQ(static_cast<u32>(med.read_sized(off(Reg::Tdh), 4)), 4u);
    // The next, well-formed packet goes through.
    auto const p = tso_packet(1200);
    memcpy(nic.g(kTxData), p.data(), p.size());
    put(4, tso_context_desc(1200, 1000));
    put(5, tso_data(kTxData, static_cast<u32>(p.size()), true));
    w(Reg::Tdt, 6);
    EXPECT_EQ(vpn.seen.size(), 2u);
}

TEST_F(E1000TsoCopyOut, MoreThan64KiBOfPayloadIsRefused) {
    auto const p = tso_packet(70000);
    memcpy(nic.g(kTxData), p.data(), p.size());
    put(0, tso_context_desc(70000 & 0xFFFFF, 1000));
    put(1, tso_data(kTxData, static_cast<u32>(p.size()), true));
    w(Reg::Tdt, 2);
    EXPECT_TRUE(vpn.seen.empty());
    EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxTso)], 1u);
    EXPECT_EQ(med.counters().tx_tso_packets, 0u);
}

// The monitor's frames the tunnel makes from one guest doorbell: a 64 KiB TSO packet cut at a
// small MSS makes more frames than the monitor has buffers.
TEST_F(E1000TsoCopyOut, ADoorbellWithMoreFramesThanMonitorBuffersLosesNone) {
    // 64 KiB of payload at MSS 536: 123 frames, against 64 monitor buffers: a send that finds
    // none free takes back those the device has sent.
    nic.auto_tx = true;
    guest_sends_tso(tso_packet(65535), 536, 65535);
    EXPECT_EQ(med.counters().tx_tso_segments, 123u);
    EXPECT_EQ(nic.sent.size(), 123u);
    EXPECT_EQ(med.counters().tx_monitor_full, 0u);
    for (size_t i = 0; i < nic.sent.size(); ++i) ASSERT_EQ(nic.sent[i].bytes, vpn.seen[i]) << i;
}

TEST_F(E1000TsoCopyOut, APacketRewrittenAfterTheDoorbellLeavesAsItWasRead) {
    // The frames wait for the device in monitor memory, copied at the guest's doorbell: the
    // guest rewriting its buffers and descriptors meanwhile changes nothing that leaves.
    nic.auto_tx = false;  // the device has not sent anything yet
    auto const p = tso_packet(2500);
    guest_sends_tso(p, 1000, 2500);
    memset(nic.g(kTxData), 0xEE, p.size());
    put(0, tso_context_desc(2500, 0));
    put(3, tso_data(kTxData + 0x100000, 16, true));
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 3u);
    for (u32 i = 0; i < 3; ++i) {
        EXPECT_EQ(nic.sent[i].bytes, vpn.seen[i]);
        expect_valid_sums(nic.sent[i].bytes);
    }
    EXPECT_EQ(nic.sent[0].bytes[kHdr], p[kHdr]) << "the payload as it was at the doorbell";
}

}  // namespace
}  // namespace tv::nic::test
