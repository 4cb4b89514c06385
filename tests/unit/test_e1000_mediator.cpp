// The e1000 mediator against a fake device and guest RAM: shadow rings, refusals, the
// monitor's frames, classification, reset.
#include <gtest/gtest.h>

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
    static void rx(void* ctx, u8 const* f, size_t len) {
        static_cast<Got*>(ctx)->frames.emplace_back(f, f + len);
    }
};

class E1000 : public ::testing::Test {
  protected:
    void SetUp() override {
        med.init(&nic, mm.dma(), kMon);
        ASSERT_EQ(med.port().add_receiver(0, Got::rx, &got), Status::Ok);
    }
    void w(Reg r, u32 v) { med.write_sized(off(r), 4, v); }
    u32 r(Reg reg) { return static_cast<u32>(med.read_sized(off(reg), 4)); }
    void guest_up() {
        w(Reg::Tdbal, static_cast<u32>(kTxRing));
        w(Reg::Tdbah, 0);
        w(Reg::Tdlen, kSlots * 16);
        w(Reg::Tdh, 0);
        w(Reg::Tdt, 0);
        w(Reg::Tctl, kTctlEn | kTctlPsp);
        for (u32 i = 0; i < kSlots; ++i) {
            RxDesc d{kBufs + i * 2048ull, 0, 0, 0, 0, 0};
            memcpy(nic.g(kRxRing + 16 * i), &d, 16);
        }
        w(Reg::Rdbal, static_cast<u32>(kRxRing));
        w(Reg::Rdbah, 0);
        w(Reg::Rdlen, kSlots * 16);
        w(Reg::Rdh, 0);
        w(Reg::Rdt, kSlots - 1);
        w(Reg::Rctl, kRctlEn | kRctlBam | kRctlSecrc);
    }
    void guest_desc(u32 idx, u64 addr, u32 len, u8 cmd) {
        TxDesc d{addr, len | u32{cmd} << 24, 0, 0, 0};
        memcpy(nic.g(kTxRing + 16 * idx), &d, 16);
    }
    RxDesc guest_rx(u32 idx) {
        RxDesc d;
        memcpy(&d, nic.g(kRxRing + 16 * idx), 16);
        return d;
    }
    u32 refused(Refusal why) const { return static_cast<u32>(med.counters().refused[static_cast<u32>(why)]); }

    FakeNic nic;
    MonitorMem mm;
    E1000Mediator med;
    Got got;
};

TEST_F(E1000, TakeoverGivesTheDeviceMonitorRingsAndMac) {
    EXPECT_EQ(nic.reg(Reg::Tdbal), static_cast<u32>(mm.dma().dev.raw + E1000Mediator::kTxRingOff));
    EXPECT_EQ(nic.reg(Reg::Rdlen), E1000Mediator::kRxSlots * 16);
    EXPECT_EQ(nic.reg(Reg::Rdt), E1000Mediator::kRxSlots - 1);
    EXPECT_TRUE(nic.reg(Reg::Rctl) & kRctlEn);
    EXPECT_TRUE(nic.reg(Reg::Tctl) & kTctlEn);
    EXPECT_EQ(nic.regs[rah(kMonitorRar) / 4], 0x01BBu | kRahValid);
    // The guest sees a reset device: no rings, RX/TX off, RAR[15] empty.
    EXPECT_EQ(r(Reg::Tdbal), 0u);
    EXPECT_EQ(r(Reg::Rctl), 0u);
    EXPECT_EQ(r(Reg::Tctl), 0x8u);
    EXPECT_EQ(med.read_sized(rah(kMonitorRar), 4), 0u);
}

TEST_F(E1000, GuestPacketIsSentAndDdWrittenBack) {
    guest_up();
    auto f = eth(kPeer, kGuest, 0x0800, 100, 0x5A);
    memcpy(nic.g(kTxData), f.data(), f.size());
    guest_desc(0, kTxData, 40, 0);
    guest_desc(1, kTxData + 40, 60, kTxCmdEop | kTxCmdRs | kTxCmdIfcs);
    w(Reg::Tdt, 2);
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 1u);
    EXPECT_EQ(nic.sent[0].bytes, f);
    EXPECT_EQ(r(Reg::Tdh), 2u);  // the read syncs: completion seen
    EXPECT_EQ(nic.g(kTxRing + 16 + 12)[0] & kTxStatDd, kTxStatDd);
    EXPECT_EQ(nic.g(kTxRing + 12)[0], 0) << "no RS: no write-back";
}

TEST_F(E1000, TxBufferInMonitorMemoryIsRefused) {
    guest_up();
    guest_desc(0, kMonitorBase + 0x100, 64, kTxCmdEop | kTxCmdRs);
    guest_desc(1, kGuestBase + kGuestSize - 32, 64, kTxCmdEop | kTxCmdRs);  // crosses the end of guest RAM
    w(Reg::Tdt, 2);
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 2u);
    for (u64 a : nic.buffers) EXPECT_FALSE(a >= kMonitorBase && a < kMonitorBase + kMonitorSize);
    EXPECT_EQ(nic.sent[0].bytes, std::vector<u8>(64, 0)) << "the device read the zero page";
    EXPECT_EQ(refused(Refusal::TxBuffer), 2u);
    EXPECT_EQ(nic.refusals.size(), 2u);
    EXPECT_EQ(r(Reg::Tdh), 2u) << "the guest's ring still advances";
}

TEST_F(E1000, RewritingADescriptorAfterTdtChangesNothing) {
    guest_up();
    auto f = eth(kPeer, kGuest, 0x0800, 80, 0x11);
    memcpy(nic.g(kTxData), f.data(), f.size());
    guest_desc(0, kTxData, 80, kTxCmdEop | kTxCmdRs);
    w(Reg::Tdt, 1);
    guest_desc(0, kMonitorBase, 2000, kTxCmdEop | kTxCmdRs);  // the TOCTOU rewrite
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 1u);
    EXPECT_EQ(nic.sent[0].bytes, f);
    EXPECT_EQ(refused(Refusal::TxBuffer), 0u);
}

TEST_F(E1000, MonitorFramesGoOnlyBetweenGuestPackets) {
    guest_up();
    guest_desc(0, kTxData, 50, 0);  // a packet's first half, TDT moved before its EOP
    w(Reg::Tdt, 1);
    auto mf = eth(kPeer, kMon, 0x88B5, 32, 0x77);
    ASSERT_EQ(med.port().send(mf.data(), mf.size()), Status::Ok);
    nic.transmit();
    EXPECT_TRUE(nic.sent.empty()) << "nothing may go out inside the guest's open packet";
    EXPECT_EQ(nic.reg(Reg::Tdt), 0u);
    guest_desc(1, kTxData + 50, 50, kTxCmdEop);
    w(Reg::Tdt, 2);
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 2u);
    EXPECT_EQ(nic.sent[0].bytes.size(), 100u);
    EXPECT_EQ(nic.sent[1].bytes.size(), 60u) << "padded to the Ethernet minimum";
    EXPECT_TRUE(std::equal(mf.begin(), mf.end(), nic.sent[1].bytes.begin()));
}

TEST_F(E1000, AnOpenPacketCannotHoldTheMonitorBackForEver) {
    guest_up();
    guest_desc(0, kTxData, 50, 0);
    w(Reg::Tdt, 1);  // and never the EOP
    auto mf = eth(kPeer, kMon, 0x88B5, 60, 0x77);
    ASSERT_EQ(med.port().send(mf.data(), mf.size()), Status::Ok);
    for (u32 i = 0; i < E1000Mediator::kMaxOpenSyncs; ++i) med.port().poll();
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 2u);
    EXPECT_EQ(nic.sent[0].bytes.size(), 50u) << "the guest's packet, ended where it stood";
    EXPECT_EQ(nic.sent[1].bytes, mf);
    EXPECT_EQ(refused(Refusal::TxOpenPacket), 1u);
}

TEST_F(E1000, MonitorSendsBeforeTheGuestDriverRuns) {
    auto mf = eth(kBcast, kMon, 0x0806, 42, 0x01);
    ASSERT_EQ(med.port().send(mf.data(), mf.size()), Status::Ok);
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 1u);
    EXPECT_EQ(med.port().send(mf.data(), 13), Status::Invalid);
    EXPECT_EQ(med.port().send(mf.data(), 1515), Status::Invalid);
}

TEST_F(E1000, MalformedTxRingIsRefused) {
    guest_up();
    w(Reg::Tdlen, 100);  // not a multiple of 128
    guest_desc(0, kTxData, 60, kTxCmdEop);
    w(Reg::Tdt, 1);
    nic.transmit();
    EXPECT_TRUE(nic.sent.empty());
    EXPECT_GE(refused(Refusal::TxRing), 1u);
    w(Reg::Tdlen, kSlots * 16);
    w(Reg::Tdbal, static_cast<u32>(kMonitorBase));  // ring base in monitor memory
    w(Reg::Tdt, 1);
    nic.transmit();
    EXPECT_TRUE(nic.sent.empty());
    EXPECT_GE(refused(Refusal::TxRing), 2u);
    w(Reg::Tdbal, static_cast<u32>(kTxRing));
    w(Reg::Tdt, 1);
    nic.transmit();
    EXPECT_EQ(nic.sent.size(), 1u) << "a repaired ring works";
}

TEST_F(E1000, MalformedRxRingIsRefused) {
    guest_up();
    w(Reg::Rdlen, 200);
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 60, 1)));
    med.port().poll();
    EXPECT_EQ(med.counters().rx_guest_frames, 0u);
    EXPECT_GE(refused(Refusal::RxRing), 1u);
    w(Reg::Rdlen, kSlots * 16);
    w(Reg::Rdbal, static_cast<u32>(kMonitorBase - 64));  // crosses into monitor memory
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 60, 1)));
    med.port().poll();
    EXPECT_EQ(med.counters().rx_guest_frames, 0u);
    EXPECT_GE(refused(Refusal::RxRing), 2u);
}

TEST_F(E1000, RxBufferCrossingIntoMonitorMemoryIsRefused) {
    guest_up();
    RxDesc bad{kMonitorBase - 16, 0, 0, 0, 0, 0};
    memcpy(nic.g(kRxRing), &bad, 16);
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 100, 0xEE)));
    EXPECT_NE(r(Reg::Icr) & kIcrRxt0, 0u);
    EXPECT_EQ(refused(Refusal::RxBuffer), 1u);
    RxDesc d = guest_rx(0);
    EXPECT_EQ(d.status & (kRxDd | kRxEop), kRxDd | kRxEop);
    EXPECT_EQ(d.length, 0);
    EXPECT_EQ(d.errors, 0x80) << "written back as an errored frame, so the ring moves on";
    EXPECT_EQ(nic.g(kMonitorBase - 16)[0], 0) << "nothing written next to the monitor either";
}

TEST_F(E1000, ClassificationByDestination) {
    guest_up();
    ASSERT_TRUE(nic.receive(eth(kMon, kPeer, 0x88B5, 60, 0xA1)));    // monitor only
    ASSERT_TRUE(nic.receive(eth(kBcast, kPeer, 0x0806, 60, 0xA2)));  // both
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 60, 0xA3)));  // guest only
    (void)r(Reg::Icr);
    ASSERT_EQ(got.frames.size(), 2u);
    EXPECT_EQ(got.frames[0][14], 0xA1);
    EXPECT_EQ(got.frames[1][14], 0xA2);
    EXPECT_EQ(med.counters().rx_guest_frames, 2u);
    EXPECT_EQ(nic.g(kBufs)[14], 0xA2);
    EXPECT_EQ(nic.g(kBufs + 2048)[14], 0xA3);
    EXPECT_EQ(guest_rx(0).length, 60);
    EXPECT_EQ(guest_rx(2).status, 0) << "the monitor's frame never reached the guest";
    EXPECT_EQ(r(Reg::Rdh), 2u);
}

TEST_F(E1000, ADeviceWithRar15KeepsItsUnicastFilter) {
    EXPECT_FALSE(med.unicast_promiscuous());
    EXPECT_FALSE(nic.reg(Reg::Rctl) & kRctlUpe);
}

// Bochs 2.7: RAR[4-15] do not exist, so the monitor's MAC cannot be in the device's filter.
// The device then runs unicast-promiscuous and the guest's filter is applied in software.
TEST(E1000FewRars, TheMonitorGetsItsUnicastAndTheGuestOnlyItsOwn) {
    FakeNic nic;
    nic.rar_count = 4;
    MonitorMem mm;
    E1000Mediator med;
    Got got;
    med.init(&nic, mm.dma(), kMon);
    ASSERT_EQ(med.port().add_receiver(0, Got::rx, &got), Status::Ok);
    EXPECT_TRUE(med.unicast_promiscuous());
    EXPECT_TRUE(nic.reg(Reg::Rctl) & kRctlUpe);
    // The guest's driver: its MAC in RAR[0] (not the mediator's register: straight to the
    // device), a ring, receive on (unicast filter, not promiscuous).
    ASSERT_FALSE(E1000Mediator::owns(ral(0)));
    nic.dev_write(ral(0), kGuest.b[0] | kGuest.b[1] << 8 | kGuest.b[2] << 16 | u32{kGuest.b[3]} << 24);
    nic.dev_write(rah(0), (kGuest.b[4] | kGuest.b[5] << 8) | kRahValid);
    for (u32 i = 0; i < kSlots; ++i) {
        RxDesc d{kBufs + i * 2048ull, 0, 0, 0, 0, 0};
        memcpy(nic.g(kRxRing + 16 * i), &d, 16);
    }
    med.write_sized(off(Reg::Rdbal), 4, static_cast<u32>(kRxRing));
    med.write_sized(off(Reg::Rdlen), 4, kSlots * 16);
    med.write_sized(off(Reg::Rdt), 4, kSlots - 1);
    med.write_sized(off(Reg::Rctl), 4, kRctlEn | kRctlBam | kRctlSecrc);
    EXPECT_TRUE(nic.reg(Reg::Rctl) & kRctlUpe) << "kept across the guest's RCTL write";
    EXPECT_FALSE(med.read_sized(off(Reg::Rctl), 4) & kRctlUpe) << "the guest sees its own RCTL";
    ASSERT_TRUE(nic.receive(eth(kMon, kPeer, 0x0800, 60, 0xA1)));    // the monitor's
    ASSERT_TRUE(nic.receive(eth(kPeer, kGuest, 0x0800, 60, 0xA4)));  // another host's
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 60, 0xA3)));  // the guest's
    med.port().poll();
    ASSERT_EQ(got.frames.size(), 1u);
    EXPECT_EQ(got.frames[0][14], 0xA1);
    EXPECT_EQ(med.counters().rx_guest_frames, 1u);
    EXPECT_EQ(med.counters().rx_guest_filtered, 1u);
    EXPECT_EQ(nic.g(kBufs)[14], 0xA3) << "only the guest's own frame reached its ring";
    // A promiscuous guest gets the other host's frames too.
    med.write_sized(off(Reg::Rctl), 4, kRctlEn | kRctlBam | kRctlSecrc | kRctlUpe);
    ASSERT_TRUE(nic.receive(eth(kPeer, kGuest, 0x0800, 60, 0xA5)));
    med.port().poll();
    EXPECT_EQ(med.counters().rx_guest_frames, 2u);
}

TEST_F(E1000, GuestWithoutBroadcastAcceptDoesNotGetBroadcasts) {
    guest_up();
    w(Reg::Rctl, kRctlEn | kRctlSecrc);
    EXPECT_TRUE(nic.reg(Reg::Rctl) & kRctlBam) << "the monitor still needs them";
    ASSERT_TRUE(nic.receive(eth(kBcast, kPeer, 0x0806, 60, 0xA2)));
    med.port().poll();
    EXPECT_EQ(got.frames.size(), 1u);
    EXPECT_EQ(med.counters().rx_guest_frames, 0u);
}

TEST_F(E1000, ShortFramesAndTheFcsAreHandled) {
    guest_up();
    w(Reg::Rctl, kRctlEn | kRctlBam);  // the device keeps the CRC (Linux e1000 does this)
    ASSERT_TRUE(nic.receive(eth(kMon, kPeer, 0x88A2, 32, 0x42)));  // as vblade's replies
    med.port().poll();
    ASSERT_EQ(got.frames.size(), 1u);
    EXPECT_EQ(got.frames[0].size(), 32u);
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 60, 1)));
    med.port().poll();
    EXPECT_EQ(guest_rx(0).length, 64) << "the guest gets what the device gave, CRC included";
    EXPECT_NE(nic.regs[off(Reg::Icr) / 4] & kIcrRxt0, 0u) << "copied outside an interrupt: ICS";
}

TEST_F(E1000, GuestRingFullDropsOnlyGuestFrames) {
    guest_up();
    for (u32 i = 0; i < kSlots - 1; ++i) ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 60, 1)));
    (void)r(Reg::Icr);
    EXPECT_EQ(med.counters().rx_guest_frames, kSlots - 1);
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 60, 2)));
    ASSERT_TRUE(nic.receive(eth(kMon, kPeer, 0x88B5, 60, 3)));
    (void)r(Reg::Icr);
    EXPECT_EQ(med.counters().rx_guest_ring_full, 1u);
    ASSERT_EQ(got.frames.size(), 1u);
    EXPECT_EQ(got.frames[0][14], 3);
    // The guest frees its ring: the next frame gets through.
    w(Reg::Rdt, (kSlots - 1 + 4) % kSlots);
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 60, 4)));
    (void)r(Reg::Icr);
    EXPECT_EQ(med.counters().rx_guest_frames, kSlots);
}

TEST_F(E1000, GuestResetReestablishesTheMonitor) {
    guest_up();
    guest_desc(0, kTxData, 60, kTxCmdEop);
    w(Reg::Tdt, 1);
    w(Reg::Ctrl, kCtrlRst);
    EXPECT_EQ(nic.resets, 1);
    EXPECT_EQ(nic.reg(Reg::Tdbal), static_cast<u32>(mm.dma().dev.raw + E1000Mediator::kTxRingOff));
    EXPECT_EQ(nic.reg(Reg::Rdbal), static_cast<u32>(mm.dma().dev.raw + E1000Mediator::kRxRingOff));
    EXPECT_EQ(nic.regs[ral(kMonitorRar) / 4], 0xAA005452u);
    EXPECT_TRUE(nic.reg(Reg::Rctl) & kRctlEn);
    EXPECT_EQ(r(Reg::Tdbal), 0u);
    EXPECT_EQ(r(Reg::Tdt), 0u);
    EXPECT_EQ(r(Reg::Rctl), 0u);
    EXPECT_EQ(r(Reg::Tctl), 0x8u);
    ASSERT_TRUE(nic.receive(eth(kMon, kPeer, 0x88B5, 60, 9)));
    med.port().poll();
    EXPECT_EQ(got.frames.size(), 1u) << "the monitor's RX works right after the reset";
    auto mf = eth(kPeer, kMon, 0x88B5, 60, 0x10);
    ASSERT_EQ(med.port().send(mf.data(), mf.size()), Status::Ok);
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 1u);
    EXPECT_EQ(nic.sent[0].bytes, mf);
}

TEST_F(E1000, NothingOfTheMonitorsIsLostInAGuestReset) {
    guest_up();
    auto mf = eth(kPeer, kMon, 0x88B5, 60, 0x21);
    ASSERT_EQ(med.port().send(mf.data(), mf.size()), Status::Ok);  // in the ring, not yet sent
    ASSERT_TRUE(nic.receive(eth(kMon, kPeer, 0x88B5, 60, 0x22)));  // received, not yet synced
    w(Reg::Ctrl, kCtrlRst);
    ASSERT_EQ(got.frames.size(), 1u) << "received before the reset: delivered";
    EXPECT_EQ(got.frames[0][14], 0x22);
    nic.transmit();
    ASSERT_EQ(nic.sent.size(), 1u) << "queued again after the reset";
    EXPECT_EQ(nic.sent[0].bytes, mf);
}

// A backlog of requests answered from inside one RX pass needs more replies than the
// monitor has TX buffers: finished ones are reaped from inside send().
TEST_F(E1000, RepliesFromInsideTheReceivePassDoNotRunOutOfBuffers) {
    nic.auto_tx = true;
    struct Echo {
        E1000Mediator* m;
        static void rx(void* ctx, u8 const* f, size_t len) {
            std::vector<u8> out(f, f + len);
            memcpy(out.data(), f + 6, 6);
            EXPECT_EQ(static_cast<Echo*>(ctx)->m->port().send(out.data(), out.size()), Status::Ok);
        }
    } echo{&med};
    ASSERT_EQ(med.port().add_receiver(0x88B5, Echo::rx, &echo), Status::Ok);
    for (u32 i = 0; i < 3 * E1000Mediator::kMonTxBufs; ++i)
        ASSERT_TRUE(nic.receive(eth(kMon, kPeer, 0x88B5, 18, static_cast<u8>(i))));
    med.port().poll();
    EXPECT_EQ(nic.sent.size(), 3 * E1000Mediator::kMonTxBufs);
    EXPECT_EQ(med.counters().tx_monitor_full, 0u);
}

TEST_F(E1000, TheMonitorsOwnFramesNeverLoopToTheGuest) {
    guest_up();
    w(Reg::Rctl, kRctlEn | kRctlBam | kRctlSecrc | (1u << 3) | (1u << 6));  // promiscuous, MAC loopback
    EXPECT_EQ(nic.reg(Reg::Rctl) & kRctlLbmMask, 0u);
    EXPECT_EQ(r(Reg::Rctl) & kRctlLbmMask, 1u << 6) << "the guest reads back what it wrote";
    ASSERT_TRUE(nic.receive(eth(kPeer, kMon, 0x88B5, 60, 1)));   // e.g. through a PHY loopback
    ASSERT_TRUE(nic.receive(eth(kBcast, kMon, 0x0806, 60, 2)));
    med.port().poll();
    EXPECT_EQ(med.counters().rx_guest_frames, 0u);
    EXPECT_EQ(med.port().counters().wire_own_looped, 2u);
    EXPECT_TRUE(got.frames.empty());
}

TEST_F(E1000, AliasesAndTheMonitorRarAreHidden) {
    med.write_sized(0x00BC, 4, 0);  // RAH[15] at its 82542 offset
    EXPECT_EQ(nic.regs[0x00BC / 4], 0u);
    EXPECT_EQ(nic.regs[rah(kMonitorRar) / 4], 0x01BBu | kRahValid);
    EXPECT_EQ(refused(Refusal::Alias), 1u);
    med.write_sized(0x0420, 4, static_cast<u32>(kMonitorBase));  // the 82542 TDBAL
    EXPECT_EQ(med.read_sized(0x0420, 4), 0u);
    EXPECT_EQ(nic.regs[0x0420 / 4], 0u);
    EXPECT_EQ(refused(Refusal::Alias), 3u);
    med.write_sized(rah(kMonitorRar), 4, 0x80001234);
    EXPECT_EQ(med.read_sized(rah(kMonitorRar), 4), 0x80001234u);
    EXPECT_EQ(nic.regs[rah(kMonitorRar) / 4], 0x01BBu | kRahValid);
    EXPECT_TRUE(E1000Mediator::owns(off(Reg::Tdt) + 2));
    EXPECT_FALSE(E1000Mediator::owns(off(Reg::Ims)));
}

TEST_F(E1000, NarrowAndWideAccessesMerge) {
    guest_up();
    med.write_sized(off(Reg::Tdbal) + 1, 1, 0x77);
    EXPECT_EQ(r(Reg::Tdbal), (static_cast<u32>(kTxRing) & ~0xFF00u) | 0x7700u);
    med.write_sized(off(Reg::Tdbal), 8, u64{0x12} << 32 | static_cast<u32>(kTxRing));
    EXPECT_EQ(r(Reg::Tdbah), 0x12u);
    EXPECT_EQ(med.read_sized(off(Reg::Tdbal), 8), u64{0x12} << 32 | static_cast<u32>(kTxRing));
}

TEST_F(E1000, OutOfRangeIndicesAreRefused) {
    guest_up();
    w(Reg::Tdt, kSlots + 3);
    EXPECT_EQ(refused(Refusal::BadIndex), 1u);
    EXPECT_EQ(r(Reg::Tdt), 0u);
}

TEST_F(E1000, OverlongPacketIsCut) {
    guest_up();
    w(Reg::Tdlen, 128 * 16);
    for (u32 i = 0; i < 100; ++i) {
        TxDesc d{kTxData, 10, 0, 0, 0};
        memcpy(nic.g(kTxRing + 16 * i), &d, 16);
    }
    w(Reg::Tdt, 100);
    nic.transmit();
    EXPECT_EQ(refused(Refusal::TxLongPacket), 1u);
    EXPECT_EQ(nic.sent.size(), 1u);
}

}  // namespace
}  // namespace tv::nic::test
