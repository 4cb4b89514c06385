// The e1000 mediator's fast paths (docs/nic.md, "Fewer exits"): the guest's interrupt handler
// reads ICR and STATUS straight from the device, so its IMC write is the sync point where
// what the device received reaches the guest's ring.
#include <gtest/gtest.h>

#include "tests/unit/test_e1000_fake.hpp"

namespace tv::nic::test {
namespace {

constexpr MacAddr kMon{{0x52, 0x54, 0x00, 0xAA, 0xBB, 0x01}};
constexpr MacAddr kGuest{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
constexpr MacAddr kPeer{{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};
constexpr u64 kTxRing = kGuestBase + 0x1000, kRxRing = kGuestBase + 0x2000, kBufs = kGuestBase + 0x10000;
constexpr u32 kSlots = 16;

struct Got {
    std::vector<std::vector<u8>> frames;
    static void rx(void* ctx, u8 const* f, size_t len) { static_cast<Got*>(ctx)->frames.emplace_back(f, f + len); }
};

class E1000Fast : public ::testing::Test {
  protected:
    void SetUp() override {
        med.init(&nic, mm.dma(), kMon);
        ASSERT_EQ(med.port().add_receiver(0, Got::rx, &got), Status::Ok);
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
        w(Reg::Rctl, kRctlEn | kRctlBam | kRctlSecrc);
    }
    void w(Reg r, u32 v) { med.write_sized(off(r), 4, v); }
    // The guest's ICR read without an exit: the device's read-to-clear, no mediator.
    u32 icr_direct() {
        u32 const v = nic.regs[off(Reg::Icr) / 4];
        nic.regs[off(Reg::Icr) / 4] = 0;
        return v;
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

TEST_F(E1000Fast, TheImcWriteAfterADirectIcrReadDeliversWhatTheDeviceReceived) {
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 100, 0xA1)));
    ASSERT_TRUE(nic.receive(eth(kMon, kPeer, 0x88B5, 60, 0xA2)));
    EXPECT_NE(icr_direct() & kIcrRxt0, 0u) << "the device's own cause, read without the monitor";
    EXPECT_EQ(guest_rx(0).status, 0) << "nothing copied yet: the read did not exit";
    w(Reg::Imc, 0xFFFFFFFF);
    EXPECT_EQ(nic.reg(Reg::Imc), 0xFFFFFFFFu) << "the mask reaches the device";
    EXPECT_EQ(guest_rx(0).status & (kRxDd | kRxEop), kRxDd | kRxEop) << "there before the guest's poll";
    EXPECT_EQ(guest_rx(0).length, 100);
    EXPECT_EQ(nic.g(kBufs)[14], 0xA1);
    ASSERT_EQ(got.frames.size(), 1u) << "the monitor's frame reached the monitor";
    EXPECT_EQ(got.frames[0][14], 0xA2);
    EXPECT_EQ(guest_rx(1).status, 0) << "and never the guest";
    EXPECT_EQ(nic.reg(Reg::Icr), 0u) << "no ICS: the handler's poll is about to look (one interrupt, not two)";
}

TEST_F(E1000Fast, AFrameCopiedOutsideTheHandlerStillRaisesAnInterrupt) {
    ASSERT_TRUE(nic.receive(eth(kGuest, kPeer, 0x0800, 80, 0xB1)));
    (void)icr_direct();  // a handler that read ICR but has not masked yet
    w(Reg::Rdt, kSlots - 1);  // another sync point: the guest might not look for a while
    EXPECT_EQ(guest_rx(0).length, 80);
    EXPECT_NE(nic.reg(Reg::Icr) & kIcrRxt0, 0u) << "ICS.RXT0, so the frame is never left unsignalled";
}

// Zero-copy transmit with the guest's offloads: the device segments and checksums the guest's
// buffers itself, from a context the mediator checked in its own copy.
class E1000FastTso : public E1000Fast {
  protected:
    static constexpr u64 kData = kGuestBase + 0x80000;
    static TxDesc context(u32 hdrlen, u32 mss, u32 paylen) {
        u8 const tucmd = kTxCmdDext | kTxCmdTse | 0x3 /* IP, TCP */ | kTxCmdIfcs;
        return TxDesc{u64{14} | u64{24} << 8 | u64{33} << 16 | u64{34} << 32 | u64{50} << 40,
                      paylen | kTxDtypContext << 20 | u32{tucmd} << 24, 0, static_cast<u8>(hdrlen), static_cast<u16>(mss)};
    }
    static TxDesc data(u64 at, u32 len, bool eop) {
        u8 const cmd = kTxCmdDext | kTxCmdTse | kTxCmdIfcs | (eop ? kTxCmdEop | kTxCmdRs : 0);
        return TxDesc{at, len | kTxDtypData << 20 | u32{cmd} << 24, 0, kTxPoptsIxsm | kTxPoptsTxsm, 0};
    }
    void put(u32 i, TxDesc const& d) { memcpy(nic.g(kTxRing + 16 * i), &d, 16); }
    // The device's own ring (monitor memory): what it segments from.
    TxDesc dev(u32 i) {
        auto const* ring = nic.dma<TxDesc>(u64{nic.reg(Reg::Tdbah)} << 32 | nic.reg(Reg::Tdbal));
        return ring[i];
    }
    void expect_sent_unsegmented() {
        EXPECT_EQ(tx_cmd(dev(0)) & kTxCmdTse, 0) << "the device's copy of the context";
        EXPECT_EQ(tx_cmd(dev(1)) & kTxCmdTse, 0);
        EXPECT_EQ(tx_cmd(dev(2)) & kTxCmdTse, 0);
        EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxTso)], 1u);
        EXPECT_EQ(med.counters().tx_offload_tso, 0u);
    }
    void send_tso(u32 hdrlen, u32 mss, u32 paylen) {
        put(0, context(hdrlen, mss, paylen));
        put(1, data(kData, hdrlen, false));
        put(2, data(kData + hdrlen, paylen, true));
        w(Reg::Tdt, 3);
    }
};

TEST_F(E1000FastTso, AWellFormedTsoSendReachesTheDeviceWithItsOffloads) {
    send_tso(54, 1448, 8000);
    EXPECT_NE(tx_cmd(dev(0)) & kTxCmdTse, 0) << "the context keeps TSE";
    EXPECT_NE(tx_cmd(dev(2)) & kTxCmdTse, 0);
    EXPECT_EQ(dev(1).addr, kData) << "zero-copy: the device reads the guest's buffer";
    EXPECT_EQ(dev(2).b13 & (kTxPoptsIxsm | kTxPoptsTxsm), kTxPoptsIxsm | kTxPoptsTxsm);
    EXPECT_EQ(med.counters().tx_offload_tso, 1u);
    EXPECT_EQ(med.counters().tx_offload_csum, 1u);
    EXPECT_EQ(med.counters().refused[static_cast<u32>(Refusal::TxTso)], 0u);
}

TEST_F(E1000FastTso, AContextWithMss0IsSentWithoutTso) {
    send_tso(54, 0, 8000);
    expect_sent_unsegmented();
}

TEST_F(E1000FastTso, AContextWhoseSegmentsOutgrowAFrameIsSentWithoutTso) {
    send_tso(54, 1500, 8000);
    expect_sent_unsegmented();
}

TEST_F(E1000FastTso, RewritingTheContextAfterTheDoorbellChangesNothing) {
    send_tso(54, 1448, 8000);
    TxDesc const before = dev(0);
    put(0, context(54, 0, 0xFFFFF));  // MSS 0, PAYLEN 1 MiB: after the mediator's check
    w(Reg::Tdt, 3);                   // the same tail again: nothing new is read
    TxDesc const after = dev(0);
    EXPECT_EQ(memcmp(&before, &after, sizeof before), 0);
    EXPECT_EQ(after.special, 1448);
}

}  // namespace
}  // namespace tv::nic::test
