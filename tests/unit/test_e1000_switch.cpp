// The e1000 mediator with the frame switch: the guest and the monitor reach each other
// inside the mediator, and a copy-out policy sees every guest frame before the wire.
#include <gtest/gtest.h>

#include "drivers/nic/tx_checksum.hpp"
#include "tests/unit/test_e1000_fake.hpp"

namespace tv::nic::test {
namespace {

constexpr MacAddr kMon{{0x52, 0x54, 0x00, 0xAA, 0xBB, 0x01}};
constexpr MacAddr kGuest{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
constexpr MacAddr kPeer{{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};
constexpr MacAddr kBcast{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};
constexpr u64 kTxRing = kGuestBase + 0x1000, kRxRing = kGuestBase + 0x2000, kBufs = kGuestBase + 0x10000;
constexpr u64 kTxData = kGuestBase + 0x80000;
constexpr u32 kSlots = 16;

struct Got {
    std::vector<std::vector<u8>> frames;
    static void rx(void* ctx, u8 const* f, size_t len) { static_cast<Got*>(ctx)->frames.emplace_back(f, f + len); }
};

struct Recorder final : sw::ForwardingPolicy {
    bool copy_out() const override { return true; }
    sw::Dest from_wire(sw::Frame) override { return sw::Dest::Guest; }
    sw::Dest from_guest(sw::Frame f) override {
        seen.emplace_back(f.data, f.data + f.len);
        return verdict;
    }
    sw::Dest from_monitor(sw::Frame) override { return sw::Dest::Wire; }
    std::vector<std::vector<u8>> seen;
    sw::Dest verdict{sw::Dest::Wire};
};

class E1000Switch : public ::testing::Test {
  protected:
    void SetUp() override {
        med.init(&nic, mm.dma(), kMon);
        ASSERT_EQ(med.port().add_receiver(0, Got::rx, &got), Status::Ok);
        guest_up();
    }
    void w(Reg r, u32 v) { med.write_sized(off(r), 4, v); }
    u32 r(Reg reg) { return static_cast<u32>(med.read_sized(off(reg), 4)); }
    void guest_up() {
        w(Reg::Tdbal, static_cast<u32>(kTxRing));
        w(Reg::Tdlen, kSlots * 16);
        w(Reg::Tctl, kTctlEn | kTctlPsp);
        for (u32 i = 0; i < kSlots; ++i) {
            RxDesc d{kBufs + i * 2048ull, 0, 0, 0, 0, 0};
            memcpy(nic.g(kRxRing + 16 * i), &d, 16);
        }
        w(Reg::Rdbal, static_cast<u32>(kRxRing));
        w(Reg::Rdlen, kSlots * 16);
        w(Reg::Rdt, kSlots - 1);
        w(Reg::Rctl, kRctlEn | kRctlBam);  // the device keeps the CRC, as Linux's e1000 asks
    }
    // One guest packet in one legacy descriptor at ring index idx, TDT moved past it.
    void guest_sends(u32 idx, std::vector<u8> const& f, u64 at = kTxData) {
        memcpy(nic.g(at), f.data(), f.size());
        TxDesc d{at, static_cast<u32>(f.size()) | u32{kTxCmdEop | kTxCmdRs | kTxCmdIfcs} << 24, 0, 0, 0};
        memcpy(nic.g(kTxRing + 16 * idx), &d, 16);
        w(Reg::Tdt, idx + 1);
    }
    RxDesc guest_rx(u32 idx) {
        RxDesc d;
        memcpy(&d, nic.g(kRxRing + 16 * idx), 16);
        return d;
    }

    FakeNic nic;
    MonitorMem mm;
    E1000Mediator med;
    Got got;
};

TEST_F(E1000Switch, TheGuestsFrameToTheMonitorReachesTheMonitor) {
    auto const ping = eth(kMon, kGuest, 0x0800, 98, 0x42);
    guest_sends(0, ping);
    ASSERT_EQ(got.frames.size(), 1u);
    EXPECT_EQ(got.frames[0], ping);
    nic.transmit();
    EXPECT_EQ(nic.sent.size(), 1u) << "zero-copy: the wire still carries it";
    EXPECT_EQ(med.port().counters().guest_to_monitor, 1u);
}

TEST_F(E1000Switch, TheGuestsFramesElsewhereAreNotCopied) {
    guest_sends(0, eth(kPeer, kGuest, 0x0800, 98, 0x42));
    EXPECT_TRUE(got.frames.empty());
    EXPECT_EQ(med.counters().tx_guest_copied, 0u);
}

TEST_F(E1000Switch, TheMonitorsReplyLandsInTheGuestsRingNotOnTheWire) {
    guest_sends(0, eth(kPeer, kGuest, 0x0800, 60, 1));  // the switch learns the guest's MAC
    nic.transmit();
    nic.sent.clear();
    nic.regs[off(Reg::Icr) / 4] = 0;
    auto const reply = eth(kGuest, kMon, 0x0800, 98, 0x77);
    ASSERT_EQ(med.port().send(reply.data(), reply.size()), Status::Ok);
    nic.transmit();
    EXPECT_TRUE(nic.sent.empty());
    RxDesc const d = guest_rx(0);
    EXPECT_EQ(d.status & (kRxDd | kRxEop), kRxDd | kRxEop);
    EXPECT_EQ(d.length, 98 + 4) << "with the FCS bytes the guest's driver strips";
    EXPECT_TRUE(d.status & kRxIxsm) << "no checksum result claimed for a monitor-made frame";
    EXPECT_TRUE(std::equal(reply.begin(), reply.end(), nic.g(kBufs)));
    EXPECT_NE(nic.regs[off(Reg::Icr) / 4] & kIcrRxt0, 0u) << "the guest is told at once";
    EXPECT_EQ(r(Reg::Rdh), 1u);
}

TEST_F(E1000Switch, TheMonitorsBroadcastReachesTheWireAndTheGuest) {
    auto const arp = eth(kBcast, kMon, 0x0806, 42, 0x01);
    ASSERT_EQ(med.port().send(arp.data(), arp.size()), Status::Ok);
    nic.transmit();
    EXPECT_EQ(nic.sent.size(), 1u);
    EXPECT_EQ(guest_rx(0).status & kRxDd, kRxDd);
}

TEST_F(E1000Switch, CopyOutHandsTheGuestsFrameToThePolicyBeforeTheWire) {
    Recorder vpn;
    vpn.verdict = sw::Dest::None;
    med.set_policy(&vpn);
    auto const f = eth(kPeer, kGuest, 0x0800, 200, 0x33);
    guest_sends(0, f);
    nic.transmit();
    ASSERT_EQ(vpn.seen.size(), 1u);
    EXPECT_EQ(vpn.seen[0], f);
    EXPECT_TRUE(nic.sent.empty()) << "the policy dropped it: the wire never saw it";
    EXPECT_EQ(nic.g(kTxRing + 12)[0] & kTxStatDd, kTxStatDd) << "completed without the device";
    EXPECT_EQ(r(Reg::Tdh), 1u);
    EXPECT_NE(nic.regs[off(Reg::Icr) / 4] & kIcrTxdw, 0u);
    vpn.verdict = sw::Dest::Wire;
    guest_sends(1, f);
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 1u);
    EXPECT_EQ(nic.sent[0].bytes, f);
    for (u64 a : nic.buffers) EXPECT_FALSE(a >= kGuestBase && a < kGuestBase + kGuestSize) << "the device reads only the copy";
}

TEST_F(E1000Switch, CopyOutTakesTheBytesAtTheDoorbell) {
    Recorder vpn;
    med.set_policy(&vpn);
    auto const f = eth(kPeer, kGuest, 0x0800, 80, 0x11);
    guest_sends(0, f);
    memset(nic.g(kTxData), 0xEE, 80);  // the guest rewrites its buffer afterwards
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 1u);
    EXPECT_EQ(nic.sent[0].bytes, f);
}

TEST_F(E1000Switch, CopyOutRefusesABufferOutsideGuestRamAndATsoPacketWithoutContext) {
    Recorder vpn;
    med.set_policy(&vpn);
    TxDesc d{kMonitorBase, 64u | u32{kTxCmdEop | kTxCmdRs} << 24, 0, 0, 0};
    memcpy(nic.g(kTxRing), &d, 16);
    w(Reg::Tdt, 1);
    EXPECT_TRUE(vpn.seen.empty());
    EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxBuffer)], 1u);
    EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxCopy)], 1u);
    // A TSO data descriptor after no TSO context: nothing says how to cut it (test_e1000_tso
    // has the packets that are cut).
    auto const f = eth(kPeer, kGuest, 0x0800, 100, 0x22);
    memcpy(nic.g(kTxData), f.data(), f.size());
    TxDesc t{kTxData, 100u | kTxDtypData << 20 | u32{kTxCmdEop | kTxCmdDext | kTxCmdTse} << 24, 0, 0, 0};
    memcpy(nic.g(kTxRing + 16), &t, 16);
    w(Reg::Tdt, 2);
    EXPECT_TRUE(vpn.seen.empty());
    EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxCopy)], 1u);
    EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxTso)], 1u);
    EXPECT_EQ(r(Reg::Tdh), 2u) << "the guest's ring still moves on";
}

// A UDP datagram in IPv4 whose checksum field holds the pseudo-header's sum, as Linux leaves
// it for the device.
std::vector<u8> udp_frame() {
    std::vector<u8> f = eth(kPeer, kGuest, 0x0800, 14 + 20 + 8 + 6, 0);
    u8 ip[20] = {0x45, 0, 0, 34, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1};
    memcpy(f.data() + 14, ip, 20);
    u8 udp[14] = {0x30, 0x39, 0x00, 0x35, 0, 14, 0, 0, 'h', 'e', 'l', 'l', 'o', '!'};
    memcpy(f.data() + 34, udp, 14);
    // pseudo header: src + dst + proto + length
    u32 s = 0x0A00 + 0x0002 + 0x0A00 + 0x0001 + 17 + 14;
    f[40] = static_cast<u8>(s >> 8);
    f[41] = static_cast<u8>(s);
    return f;
}

u16 fold(std::vector<u8> const& f, u32 from, u32 to) {
    u32 s = 0;
    for (u32 i = from; i < to; i += 2) s += u32{f[i]} << 8 | (i + 1 < to ? f[i + 1] : 0);
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<u16>(s);
}

TEST_F(E1000Switch, CopyOutInsertsTheChecksumsTheGuestAskedFor) {
    Recorder vpn;
    med.set_policy(&vpn);
    auto const f = udp_frame();
    memcpy(nic.g(kTxData), f.data(), f.size());
    // Context: IP sum over 14..33 stored at 24; UDP sum from 34 to the end stored at 40.
    u64 const ctx_fields = u64{14} | u64{24} << 8 | u64{33} << 16 | u64{34} << 32 | u64{40} << 40;
    TxDesc c{ctx_fields, kTxDtypContext << 20 | u32{kTxCmdDext} << 24, 0, 0, 0};
    TxDesc d{kTxData, static_cast<u32>(f.size()) | kTxDtypData << 20 | u32{kTxCmdEop | kTxCmdDext} << 24, 0,
             kTxPoptsIxsm | kTxPoptsTxsm, 0};
    memcpy(nic.g(kTxRing), &c, 16);
    memcpy(nic.g(kTxRing + 16), &d, 16);
    w(Reg::Tdt, 2);
    ASSERT_EQ(vpn.seen.size(), 1u);
    auto const& out = vpn.seen[0];
    EXPECT_EQ(fold(out, 14, 34), 0xFFFF) << "a valid IPv4 header checksum";
    // UDP: pseudo header + datagram sums to all ones.
    std::vector<u8> pseudo = {10, 0, 0, 2, 10, 0, 0, 1, 0, 17, 0, 14};
    pseudo.insert(pseudo.end(), out.begin() + 34, out.end());
    EXPECT_EQ(fold(pseudo, 0, static_cast<u32>(pseudo.size())), 0xFFFF) << "a valid UDP checksum";
}

TEST(TxChecksum, FieldsOutsideTheFrameAreSkipped) {
    std::vector<u8> f(60, 0xAB);
    auto const before = f;
    apply_checksums(f.data(), 60, legacy_checksum(20, 59));  // the field's second byte is past the end
    EXPECT_EQ(f, before);
    apply_checksums(f.data(), 60, legacy_checksum(70, 10));  // start past the end
    EXPECT_EQ(f, before);
    apply_checksums(f.data(), 60, legacy_checksum(20, 10));
    EXPECT_NE(f, before);
}

}  // namespace
}  // namespace tv::nic::test
