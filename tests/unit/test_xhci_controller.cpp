// The xHCI mediator against a fake controller: what the device is given instead of the guest's
// pointers, the shadow command and transfer rings, input and output contexts, event
// translation into the guest's event ring, and the refusals (each logged).
#include <gtest/gtest.h>

#include <memory>

#include "tests/unit/test_xhci_fake_hc.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

namespace {

constexpr u64 kGuestDcbaa = 0x10000, kGuestCmds = 0x11000, kGuestErst = 0x12000, kGuestEvents = 0x13000;
constexpr u64 kGuestIn = 0x14000, kGuestOut = 0x15000, kGuestEp0 = 0x16000, kGuestBuf = 0x17000;
constexpr u32 kGuestEventTrbs = 16;

struct Rig {
    explicit Rig(bool csz64 = false) : hc(csz64) {
        x.init(&hc, hc.dma());
        EXPECT_TRUE(x.take_over(Hpa{0}));
        w64(kOp + kDcbaap, kGuestDcbaa);
        w64(kOp + kCrcr, kGuestCmds | 1);
        x.write(kOp + kConfig, 4, 8);
        ErstEntry e{kGuestEvents, kGuestEventTrbs, 0};
        EXPECT_TRUE(hc.g.write(Gpa{kGuestErst}, &e, sizeof e));
        x.write(kRt + kIntr0 + kErstSz, 4, 1);
        w64(kRt + kIntr0 + kErstBa, kGuestErst);
        w64(kRt + kIntr0 + kErdp, kGuestEvents);
        u64 out = kGuestOut;
        EXPECT_TRUE(hc.g.write(Gpa{kGuestDcbaa + 8}, &out, 8));
        x.write(kOp + kUsbCmd, 4, kCmdRun);
    }
    void w64(u32 off, u64 v) {  // as Linux does: low half, then high half
        x.write(off, 4, v & 0xFFFFFFFF);
        x.write(off + 4, 4, v >> 32);
    }
    Trb& command(u32 i, TrbType t, u64 param = 0, u32 flags = 0) {
        return hc.g.put(kGuestCmds + i * 16, t, true, param, 0, flags);
    }
    // The device's view of command i of the shadow command ring.
    Trb& shadow_command(u32 i) { return hc.dev_trb((hc.device_crcr() & ~u64{0x3F}) + i * 16); }
    void complete(u64 shadow, Completion code, u8 slot = 0) {
        Trb ev{shadow, u32{static_cast<u8>(code)} << 24, u32{slot} << 24};
        set_trb_type(ev, TrbType::CommandCompletion);
        hc.event(ev);
    }
    Trb& guest_event(u32 i) { return hc.g.trb(kGuestEvents + i * 16); }
    u32 usbsts() { return static_cast<u32>(x.read(kOp + kUsbSts, 4)); }

    // Enable Slot and Address Device for slot 1, endpoint 0's ring at kGuestEp0.
    u64 address_slot1(bool csz64 = false) {
        command(0, TrbType::EnableSlot);
        x.write(kDb, 4, 0);
        complete(shadow_addr(0), Completion::Success, 1);
        (void)usbsts();
        u32 const stride = csz64 ? 64 : 32;
        u32 adds[2] = {0, 3};
        EXPECT_TRUE(hc.g.write(Gpa{kGuestIn}, adds, sizeof adds));
        u32 ep0[4] = {0, 4u << 3 | 64u << 16, static_cast<u32>(kGuestEp0 | 1), 0};
        EXPECT_TRUE(hc.g.write(Gpa{kGuestIn + 2 * stride}, ep0, sizeof ep0));
        command(1, TrbType::AddressDevice, kGuestIn, 1u << 24);
        x.write(kDb, 4, 0);
        return shadow_addr(1);
    }
    u64 shadow_addr(u32 i) { return (hc.device_crcr() & ~u64{0x3F}) + i * 16; }

    FakeHc hc;
    XhciController x;
};

std::unique_ptr<Rig> rig(bool csz64 = false) { return std::make_unique<Rig>(csz64); }

}  // namespace

TEST(XhciController, TakeOverResetsTheController) {
    auto r = rig();
    EXPECT_EQ(r->hc.resets, 1u);
}

TEST(XhciController, CapabilitiesOfferOneInterrupterFewerSlotsAndNoStreams) {
    auto r = rig();
    u32 const p1 = static_cast<u32>(r->x.read(kHcsParams1, 4));
    EXPECT_EQ(hcs_max_slots(p1), kMaxSlots);
    EXPECT_EQ(hcs_max_intrs(p1), 1u);
    EXPECT_EQ(hcs_max_ports(p1), 4u);
    EXPECT_EQ(r->x.read(kHccParams1, 4) & kHccMaxPsaMask, 0u);
    EXPECT_EQ(hcs_erst_max(static_cast<u32>(r->x.read(kHcsParams2, 4))), 3u);
    EXPECT_EQ(r->x.read(kCapLength, 1), kOp);
}

TEST(XhciController, TheDeviceHoldsMonitorPointersTheGuestReadsItsOwn) {
    auto r = rig();
    EXPECT_TRUE(r->hc.in_dma(r->hc.device_dcbaap()));
    EXPECT_TRUE(r->hc.in_dma(r->hc.device_crcr() & ~u64{0x3F}));
    EXPECT_TRUE(r->hc.in_dma(r->hc.reg64(kRt + kIntr0 + kErstBa)));
    EXPECT_EQ(r->hc.regs[kRt + kIntr0 + kErstSz], 1u);
    EXPECT_EQ(r->x.read(kOp + kDcbaap, 4), kGuestDcbaa);
    EXPECT_EQ(r->x.read(kRt + kIntr0 + kErstBa, 8), kGuestErst);
    EXPECT_EQ(r->x.read(kRt + kIntr0 + kErstSz, 4), 1u);
}

TEST(XhciController, ACommandIsCopiedToTheShadowRingBeforeTheDoorbell) {
    auto r = rig();
    r->command(0, TrbType::EnableSlot);
    r->x.write(kDb, 4, 0);
    ASSERT_EQ(r->hc.doorbells.size(), 1u);
    EXPECT_EQ(r->hc.doorbells[0].index, 0u);
    Trb const& s = r->shadow_command(0);
    EXPECT_EQ(trb_type(s), TrbType::EnableSlot);
    EXPECT_TRUE(trb_cycle(s));
    EXPECT_EQ(r->x.counters().commands, 1u);
}

TEST(XhciController, RewritingACommandAfterTheDoorbellChangesNothing) {
    auto r = rig();
    u64 const shadow = r->address_slot1();
    u64 const given = r->hc.dev_trb(shadow).param;
    r->hc.g.trb(kGuestCmds + 16).param = kHiddenBase;  // the guest rewrites it
    r->x.write(kDb, 4, 0);                              // and rings again
    EXPECT_EQ(r->hc.dev_trb(shadow).param, given);
    EXPECT_TRUE(r->hc.in_dma(given));
}

TEST(XhciController, ACompletionReachesTheGuestWithItsOwnTrbAddress) {
    auto r = rig();
    r->command(0, TrbType::EnableSlot);
    r->x.write(kDb, 4, 0);
    r->complete(r->shadow_addr(0), Completion::Success, 1);
    EXPECT_EQ(r->guest_event(0).control & kTrbCycle, 0u);  // nothing before the guest looks
    (void)r->usbsts();
    Trb const& ev = r->guest_event(0);
    EXPECT_EQ(trb_type(ev), TrbType::CommandCompletion);
    EXPECT_TRUE(trb_cycle(ev));
    EXPECT_EQ(ev.param, kGuestCmds);
    EXPECT_EQ(trb_slot(ev), 1);
    EXPECT_EQ(trb_completion_code(ev), static_cast<u8>(Completion::Success));
}

TEST(XhciController, AddressDeviceGivesTheDeviceACheckedCopyWithAShadowRing) {
    for (bool csz : {false, true}) {
        auto r = rig(csz);
        u64 const shadow = r->address_slot1(csz);
        Trb const& s = r->hc.dev_trb(shadow);
        ASSERT_EQ(trb_type(s), TrbType::AddressDevice);
        ASSERT_TRUE(r->hc.in_dma(s.param));
        ContextLayout lay(csz);
        EpContext const& ep0 = input_ep(r->hc.virt(s.param), lay, 1);
        EXPECT_TRUE(r->hc.in_dma(ep0.dequeue().raw)) << csz;
        EXPECT_TRUE(ep0.dcs());
    }
}

TEST(XhciController, TheOutputContextIsCopiedOutWithTheGuestsDequeuePointer) {
    auto r = rig();
    u64 const shadow = r->address_slot1();
    // The device fills its output context (the monitor's, through the monitor's DCBAA).
    u64 const out_dev = *reinterpret_cast<u64*>(r->hc.virt(r->hc.device_dcbaap() + 8));
    ASSERT_TRUE(r->hc.in_dma(out_dev));
    u8* out = r->hc.virt(out_dev);
    reinterpret_cast<SlotContext*>(out)->dw[3] = 5 | 2u << 27;
    u64 const in_dev = r->hc.dev_trb(shadow).param;
    EpContext const& given = input_ep(r->hc.virt(in_dev), ContextLayout(false), 1);
    device_ep(out, ContextLayout(false), 1) = given;
    r->complete(shadow, Completion::Success, 1);
    (void)r->usbsts();
    SlotContext slot{};
    ASSERT_TRUE(r->hc.g.read(Gpa{kGuestOut}, &slot, sizeof slot));
    EXPECT_EQ(slot.address(), 5);
    EpContext ep{};
    ASSERT_TRUE(r->hc.g.read(Gpa{kGuestOut + 32}, &ep, sizeof ep));
    EXPECT_EQ(ep.dequeue(), Gpa{kGuestEp0});
}

TEST(XhciController, AControlTransferIsShadowedAndItsEventTranslated) {
    auto r = rig();
    r->address_slot1();
    u64 const in_dev = r->hc.dev_trb(r->shadow_addr(1)).param;
    u64 const ring = input_ep(r->hc.virt(in_dev), ContextLayout(false), 1).dequeue().raw;
    r->hc.g.put(kGuestEp0, TrbType::SetupStage, true, 0x0012000001000680, 8, kTrbIdt);
    r->hc.g.put(kGuestEp0 + 16, TrbType::DataStage, true, kGuestBuf, 18, kTrbDirIn);
    r->hc.g.put(kGuestEp0 + 32, TrbType::StatusStage, true, 0, 0, kTrbIoc);
    r->x.write(kDb + 4, 4, 1);
    ASSERT_EQ(r->hc.doorbells.back().index, 1u);
    EXPECT_EQ(r->hc.doorbells.back().value, 1u);
    EXPECT_EQ(trb_type(r->hc.dev_trb(ring + 16)), TrbType::DataStage);
    EXPECT_TRUE(r->hc.in_dma(r->hc.dev_trb(ring + 16).param));  // GET_DESCRIPTOR: bounced (usb_slot)
    Trb ev{ring + 32, 1u << 24, 1u << 24 | 1u << 16};
    set_trb_type(ev, TrbType::TransferEvent);
    r->hc.event(ev);
    (void)r->usbsts();
    Trb const& g = r->guest_event(1);  // after Enable Slot's completion
    EXPECT_EQ(trb_type(g), TrbType::TransferEvent);
    EXPECT_EQ(g.param, kGuestEp0 + 32);
}

TEST(XhciController, ABufferPointingAtTheMonitorIsRefusedLoggedAndFailsAsATrbError) {
    auto r = rig();
    r->address_slot1();
    u64 const in_dev = r->hc.dev_trb(r->shadow_addr(1)).param;
    u64 const ring = input_ep(r->hc.virt(in_dev), ContextLayout(false), 1).dequeue().raw;
    r->hc.g.put(kGuestEp0, TrbType::Normal, true, kHiddenBase, 512, kTrbIoc);
    r->x.write(kDb + 4, 4, 1);
    Trb const& s = r->hc.dev_trb(ring);
    EXPECT_EQ(trb_type(s), TrbType::Normal);  // same shape, the monitor's sink as its buffer
    EXPECT_TRUE(r->hc.in_dma(s.param));
    EXPECT_EQ(trb_length(s), 512u);
    EXPECT_TRUE(r->hc.logged("buffer outside guest memory"));
    EXPECT_EQ(r->x.counters().refused, 1u);
    Trb ev{ring, 1u << 24, 1u << 24 | 1u << 16};
    set_trb_type(ev, TrbType::TransferEvent);
    r->hc.event(ev);
    (void)r->usbsts();
    EXPECT_EQ(trb_completion_code(r->guest_event(1)), static_cast<u8>(Completion::Trb));
    EXPECT_EQ(r->guest_event(1).param, kGuestEp0);
}

TEST(XhciController, ARefusedDataStageFailsItsWholeControlTransfer) {
    auto r = rig();
    r->address_slot1();
    u64 const in_dev = r->hc.dev_trb(r->shadow_addr(1)).param;
    u64 const ring = input_ep(r->hc.virt(in_dev), ContextLayout(false), 1).dequeue().raw;
    r->hc.g.put(kGuestEp0, TrbType::SetupStage, true, 0x0040000001000680, 8, kTrbIdt);
    // As Linux queues it: three stages, none chained.
    r->hc.g.put(kGuestEp0 + 16, TrbType::DataStage, true, kHiddenBase + 0x100, 64, kTrbDirIn);
    r->hc.g.put(kGuestEp0 + 32, TrbType::StatusStage, true, 0, 0, kTrbIoc);
    r->x.write(kDb + 4, 4, 1);
    EXPECT_EQ(trb_type(r->hc.dev_trb(ring + 16)), TrbType::DataStage);
    EXPECT_TRUE(r->hc.in_dma(r->hc.dev_trb(ring + 16).param));
    EXPECT_EQ(trb_length(r->hc.dev_trb(ring + 16)), 64u);
    EXPECT_EQ(trb_type(r->hc.dev_trb(ring + 32)), TrbType::StatusStage);
    Trb ev{ring + 32, 1u << 24, 1u << 24 | 1u << 16};  // the device completes the TD "successfully"
    set_trb_type(ev, TrbType::TransferEvent);
    r->hc.event(ev);
    (void)r->usbsts();
    EXPECT_EQ(r->guest_event(1).param, kGuestEp0 + 32);
    EXPECT_EQ(trb_completion_code(r->guest_event(1)), static_cast<u8>(Completion::Trb));
}

TEST(XhciController, SetTrDequeueMovesTheGuestCursorAndPointsTheDeviceAtTheShadowProducer) {
    auto r = rig();
    r->address_slot1();
    u64 const in_dev = r->hc.dev_trb(r->shadow_addr(1)).param;
    u64 const ring = input_ep(r->hc.virt(in_dev), ContextLayout(false), 1).dequeue().raw;
    r->hc.g.put(kGuestEp0, TrbType::NoOp, true, 0, 0, kTrbIoc);
    r->x.write(kDb + 4, 4, 1);
    // The guest abandons what it queued and moves its ring to a new place (cycle state 0).
    constexpr u64 kNewRing = 0x18000;
    r->command(2, TrbType::SetTrDequeue, kNewRing, 1u << 24 | 1u << 16);
    r->x.write(kDb, 4, 0);
    Trb const& s = r->shadow_command(2);
    ASSERT_EQ(trb_type(s), TrbType::SetTrDequeue);
    EXPECT_EQ(s.param & ~u64{0xF}, ring + 16);  // after the shadow No Op
    EXPECT_EQ(s.param & 1, 1u);                 // the shadow ring's own cycle state
    r->hc.g.put(kNewRing, TrbType::Normal, false, kGuestBuf, 8, kTrbIoc);  // produced with cycle 0
    r->x.write(kDb + 4, 4, 1);
    EXPECT_EQ(trb_type(r->hc.dev_trb(ring + 16)), TrbType::Normal);
    EXPECT_EQ(r->hc.dev_trb(ring + 16).param, kGuestBuf);
    Trb ev{ring + 16, 1u << 24, 1u << 24 | 1u << 16};
    set_trb_type(ev, TrbType::TransferEvent);
    r->hc.event(ev);
    (void)r->usbsts();
    EXPECT_EQ(r->guest_event(1).param, kNewRing);
}

TEST(XhciController, ARefusedCommandBecomesANoOpAndCompletesAsATrbError) {
    auto r = rig();
    r->command(0, TrbType::ForceEvent, kHiddenBase);
    r->x.write(kDb, 4, 0);
    EXPECT_EQ(trb_type(r->shadow_command(0)), TrbType::NoOpCommand);
    EXPECT_TRUE(r->hc.logged("Force Event"));
    r->complete(r->shadow_addr(0), Completion::Success);
    (void)r->usbsts();
    EXPECT_EQ(trb_completion_code(r->guest_event(0)), static_cast<u8>(Completion::Trb));
}

TEST(XhciController, ALinkLoopOnTheCommandRingIsRefusedWithoutADoorbell) {
    auto r = rig();
    r->hc.g.link(kGuestCmds, kGuestCmds, true, false);
    r->x.write(kDb, 4, 0);
    EXPECT_TRUE(r->hc.doorbells.empty());
    EXPECT_TRUE(r->hc.logged("link TRB after a link TRB"));
}

TEST(XhciController, AnInputContextWithARingInTheMonitorIsRefused) {
    auto r = rig();
    r->command(0, TrbType::EnableSlot);
    r->x.write(kDb, 4, 0);
    r->complete(r->shadow_addr(0), Completion::Success, 1);
    (void)r->usbsts();
    u32 adds[2] = {0, 3};
    ASSERT_TRUE(r->hc.g.write(Gpa{kGuestIn}, adds, sizeof adds));
    u32 ep0[4] = {0, 4u << 3 | 64u << 16, static_cast<u32>(kHiddenBase | 1), 0};
    ASSERT_TRUE(r->hc.g.write(Gpa{kGuestIn + 64}, ep0, sizeof ep0));
    r->command(1, TrbType::AddressDevice, kGuestIn, 1u << 24);
    r->x.write(kDb, 4, 0);
    EXPECT_EQ(trb_type(r->shadow_command(1)), TrbType::NoOpCommand);
    EXPECT_TRUE(r->hc.logged("transfer ring outside guest memory"));
}

TEST(XhciController, DoorbellsForSlotsNotEnabledAreRefused) {
    auto r = rig();
    r->x.write(kDb + 8, 4, 1);
    EXPECT_TRUE(r->hc.doorbells.empty());
    EXPECT_TRUE(r->hc.logged("slot not enabled"));
}

TEST(XhciController, ADebugCapabilityWriteIsRefusedTheLegacyHandOffPasses) {
    auto r = rig();
    r->x.write(kDebugCap + 0x10, 4, 0x1234);
    EXPECT_EQ(r->hc.regs.count(kDebugCap + 0x10), 0u);
    EXPECT_TRUE(r->hc.logged("extended capability"));
    r->x.write(kExt, 4, 1u << 24);
    EXPECT_EQ(r->hc.regs[kExt], 1u << 24);
}

TEST(XhciController, AnErdpOutsideTheGuestsRingIsRefused) {
    auto r = rig();
    r->w64(kRt + kIntr0 + kErdp, kHiddenBase);
    EXPECT_TRUE(r->hc.logged("ERDP"));
}

TEST(XhciController, EventsWaitWhileTheGuestsRingIsFullAndTheDeviceIsToldToInterruptAgain) {
    auto r = rig();
    for (u32 i = 0; i < kGuestEventTrbs + 2; ++i) {
        Trb ev{0, 0, 0};
        set_trb_type(ev, TrbType::PortStatusChange);
        ev.param = u64{i + 1} << 24;
        r->hc.event(ev);
    }
    (void)r->usbsts();
    EXPECT_EQ(r->x.counters().events, kGuestEventTrbs - 1);  // one TRB always left free
    // The device's ERDP stays one behind while the guest has unread events.
    u64 const erdp = r->hc.reg64(kRt + kIntr0 + kErdp) & ~u64{0xF};
    u64 const seg = reinterpret_cast<ErstEntry*>(r->hc.virt(r->hc.reg64(kRt + kIntr0 + kErstBa)))->base;
    EXPECT_EQ(erdp, seg + (kGuestEventTrbs - 2) * 16);
    r->w64(kRt + kIntr0 + kErdp, (kGuestEvents + 15 * 16) | kErdpEhb);  // the guest read them all
    EXPECT_EQ(r->x.counters().events, kGuestEventTrbs + 2);
    EXPECT_EQ(r->guest_event(15).param, u64{16} << 24);
}

TEST(XhciController, AGuestResetDropsEveryShadow) {
    auto r = rig();
    r->address_slot1();
    r->x.write(kOp + kUsbCmd, 4, kCmdHcrst);
    EXPECT_EQ(r->hc.resets, 2u);
    r->x.write(kDb + 4, 4, 1);
    EXPECT_TRUE(r->hc.logged("slot not enabled"));
}

// [card] reader = hide: the root port of the reader the monitor used is the monitor's for the
// whole run. The guest reads it as empty from its first look (no connect change to chase),
// hears none of its events even after an unplug, cannot address a device there, cannot reset
// it, and its own controller reset does not give it back. Another port stays the guest's.
TEST(XhciController, AKeptPortIsNeverTheGuestsNotEvenAfterAnUnplugOrAGuestReset) {
    auto r = rig();
    constexpr u32 kPort1 = kOp + kPortRegs, kPort2 = kPort1 + 0x10;
    constexpr u32 kCcs = 1u << 0, kPed = 1u << 1, kPr = 1u << 4, kPp = 1u << 9, kCsc = 1u << 17;
    r->hc.regs[kPort1] = kCcs | kPed | kPp | 1u << 10 | kCsc;  // the reader: full speed, a connect change
    r->hc.regs[kPort2] = kCcs | kPp | 3u << 10 | kCsc;
    r->x.keep_port(1);
    EXPECT_EQ(r->x.read(kPort1, 4) & (kCcs | kPed | kCsc | 0xFu << 10), 0u) << "the guest sees the kept port's device";
    EXPECT_EQ(r->x.read(kPort1, 4) & kPp, kPp) << "a kept port reads as powered and empty";
    EXPECT_EQ(r->x.read(kPort2, 4), u64{kCcs | kPp | 3u << 10 | kCsc}) << "another port is not the guest's any more";
    r->x.write(kPort1, 4, kPp | kPr);  // the guest resets the port
    EXPECT_EQ(r->hc.regs[kPort1] & kPr, 0u) << "the guest's port reset reached the kept port";
    Trb ev{u64{1} << 24, 1u << 24, 0};
    set_trb_type(ev, TrbType::PortStatusChange);
    r->hc.event(ev);
    r->hc.regs[kPort1] = kPp | kCsc;  // unplugged: a kept port stays kept
    r->hc.event(ev);
    (void)r->usbsts();
    EXPECT_EQ(r->x.counters().events, 2u);
    EXPECT_FALSE(trb_cycle(r->guest_event(0))) << "an event of the kept port reached the guest";
    EXPECT_EQ(r->x.read(kPort1, 4) & kCsc, 0u);
    // Address Device for a device on the kept port: refused; on port 2: passed.
    r->command(0, TrbType::EnableSlot);
    r->x.write(kDb, 4, 0);
    r->complete(r->shadow_addr(0), Completion::Success, 1);
    (void)r->usbsts();
    u32 in[2 + 8 + 4] = {0, 3, 0, 1u << 16};  // add slot and ep0; slot context: root port 1
    in[2 + 8 + 1] = 4u << 3 | 64u << 16;
    in[2 + 8 + 2] = static_cast<u32>(kGuestEp0 | 1);
    ASSERT_TRUE(r->hc.g.write(Gpa{kGuestIn}, in, 8));
    ASSERT_TRUE(r->hc.g.write(Gpa{kGuestIn + 32}, in + 2, 32));
    ASSERT_TRUE(r->hc.g.write(Gpa{kGuestIn + 64}, in + 10, 16));
    r->command(1, TrbType::AddressDevice, kGuestIn, 1u << 24);
    r->x.write(kDb, 4, 0);
    EXPECT_EQ(trb_type(r->shadow_command(1)), TrbType::NoOpCommand) << "the guest addressed the kept port's device";
    EXPECT_TRUE(r->hc.logged("root port is not the guest's"));
    u32 const port2 = 2u << 16;
    ASSERT_TRUE(r->hc.g.write(Gpa{kGuestIn + 32 + 4}, &port2, 4));
    r->command(2, TrbType::AddressDevice, kGuestIn, 1u << 24);
    r->x.write(kDb, 4, 0);
    EXPECT_EQ(trb_type(r->shadow_command(2)), TrbType::AddressDevice) << "port 2's device was refused too";
    r->x.write(kOp + kUsbCmd, 4, kCmdHcrst);  // the guest's own reset
    r->hc.regs[kPort1] = kCcs | kPp | 1u << 10 | kCsc;  // plugged in again
    EXPECT_EQ(r->x.read(kPort1, 4) & (kCcs | kCsc), 0u) << "the guest's reset gave it the kept port";
}
