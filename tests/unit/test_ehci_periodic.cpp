// The EHCI mediator's shadow of the periodic schedule (drivers/usb/ehci_periodic.hpp), driven
// through its registers (ehci_controller.hpp) against the fake controller of
// test_ehci_fake.hpp, which runs one frame's entry of the list the monitor gave it.
#include <gtest/gtest.h>

#include <memory>

#include "tests/unit/test_ehci_fake.hpp"

namespace tv::usb::test {
namespace {

constexpr u32 kList = 0x3000;  // the guest's frame list (1024 entries, one page)
constexpr u32 kIntA = 0x1000, kIntB = 0x1040, kIntC = 0x1080;
constexpr u32 kTd1 = 0x2000, kTd2 = 0x2020, kTdDummy = 0x2060;
constexpr u32 kItd = 0x5000, kSitd = 0x5100, kFstn = 0x5200;
constexpr u32 kBuf = 0x10000;
constexpr u32 kMonitor = 0x80000;  // FakeGuest's hidden range: the monitor's
constexpr u32 kCmd = kOpBase + op(EhciOp::UsbCmd), kSts = kOpBase + op(EhciOp::UsbSts);
constexpr u32 kPeriodic = kOpBase + op(EhciOp::PeriodicListBase);

constexpr u32 link_of(u32 addr, LinkType t) { return addr | (u32{static_cast<u8>(t)} << 1); }

class EhciPeriodic : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(c->init(&f, f.mem()));
        for (u32 k = 0; k < kFrameListEntries; ++k) entry(k) = kLinkTerminate;
    }
    u32& entry(u32 k) { return *reinterpret_cast<u32*>(f.g.ram.data() + kList + k * 4); }
    // An interrupt QH (S-mask micro-frame 0) linked to `next`, its overlay leading to first_qtd.
    Qh& int_qh(u32 at, u32 next, u32 first_qtd, u32 devaddr = 1) {
        Qh& q = guest_qh(f.g, at, 0, false, first_qtd, devaddr);
        q.hlink = next;
        q.epchar = devaddr | (1u << 8) | (2u << 12) | (8u << 16);  // endpoint 1, high speed, 8 bytes
        q.epcap = (1u << 30) | 0x01;                                 // one transaction, S-mask 0x01
        return q;
    }
    void start(u32 extra_cmd = 0) {
        c->write(kPeriodic, 4, kList);
        c->write(kCmd, 4, kCmdRun | kCmdPeriodic | extra_cmd);
    }
    Qtd& td(u32 at) { return *reinterpret_cast<Qtd*>(f.g.ram.data() + at); }
    u32 const* device_list() { return f.at<u32>(f.periodic); }
    bool refused_with(char const* what) const {
        for (auto const& r : f.refusals)
            if (r.find(what) != std::string::npos) return true;
        return false;
    }
    // Every chain the controller can follow from its list is monitor memory, QHs only, and ends.
    void expect_tree_closed() {
        for (u32 k = 0; k < kFrameListEntries; ++k) f.run_frame(k);
        EXPECT_TRUE(f.strays.empty());
        EXPECT_TRUE(f.not_qh.empty());
        EXPECT_TRUE(f.overlong.empty());
        EXPECT_TRUE(f.looped.empty());
        EXPECT_TRUE(f.bad_buffers.empty());
    }

    FakeEhci f;
    std::unique_ptr<EhciController> c = std::make_unique<EhciController>();
};

TEST_F(EhciPeriodic, InterruptInTransferCompletesIntoTheGuestsBuffer) {
    int_qh(kIntA, kLinkTerminate, kTd1);
    guest_qtd(f.g, kTd1, kTdDummy, kBuf, 8, QtdPid::In).token |= kQtdIoc;
    guest_qtd(f.g, kTdDummy, kLinkTerminate, 0, 0, QtdPid::Out, false).token = kQtdHalted;
    for (u32 k = 0; k < kFrameListEntries; k += 8) entry(k) = link_of(kIntA, LinkType::Qh);
    start();
    ASSERT_TRUE(f.in_dma(f.periodic, kPageSize));
    EXPECT_EQ(c->read(kPeriodic, 4), kList);  // the guest reads its own list back
    f.in_data = {0, 0, 4, 0, 0, 0, 0, 0};     // a key press: usage 4, 'a'
    f.run_frame(1);                            // a slot without the QH
    EXPECT_TRUE(f.executed.empty());
    f.run_frame(8);
    ASSERT_EQ(f.executed.size(), 1u);
    EXPECT_EQ(f.executed[0].pid, QtdPid::In);
    EXPECT_EQ(f.executed[0].buffer, kBuf);
    EXPECT_TRUE(td(kTd1).token & kQtdActive);  // not before the guest looks
    EXPECT_TRUE(f.sts & 1);                    // USBINT: the guest's interrupt handler reads USBSTS
    (void)c->read(kSts, 4);
    EXPECT_FALSE(td(kTd1).token & kQtdActive);
    EXPECT_EQ(qtd_bytes(td(kTd1).token), 0u);
    EXPECT_EQ(f.g.ram[kBuf + 2], 4u);
    EXPECT_EQ(reinterpret_cast<Qh*>(f.g.ram.data() + kIntA)->current, kTd1);  // the overlay names the guest's qTD
    EXPECT_TRUE(f.refusals.empty());
    expect_tree_closed();
    EXPECT_EQ(f.executed.size(), 1u);  // ran once: the dummy after it is inactive
}

TEST_F(EhciPeriodic, QhInEightFrameSlotsIsShadowedOnce) {
    // Linux's tree: A (period 8 frames) in 8 of the first 64 slots, leading on to B (period
    // 1) that every slot reaches.
    int_qh(kIntB, kLinkTerminate, kLinkTerminate, 2);
    int_qh(kIntA, link_of(kIntB, LinkType::Qh), kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 8, QtdPid::In);
    for (u32 k = 0; k < kFrameListEntries; ++k)
        entry(k) = link_of(k < 64 && k % 8 == 0 ? kIntA : kIntB, LinkType::Qh);
    start();
    EXPECT_EQ(c->periodic().pool_counters().qh_linked, 2u);
    u32 const a = c->periodic().device_qh_of(kIntA), b = c->periodic().device_qh_of(kIntB);
    ASSERT_NE(a, 0u);
    ASSERT_NE(b, 0u);
    u32 const* list = device_list();
    ASSERT_NE(list, nullptr);
    for (u32 k = 0; k < kFrameListEntries; ++k)
        ASSERT_EQ(list[k], qh_link(k < 64 && k % 8 == 0 ? a : b)) << "slot " << k;
    EXPECT_EQ(f.at<Qh>(a)->hlink, qh_link(b));
    for (u32 k = 0; k < 64; ++k) f.run_frame(k);
    EXPECT_EQ(f.executed.size(), 1u);  // A's one qTD, once
    c->tick();
    c->tick();
    EXPECT_EQ(c->periodic().pool_counters().qh_linked, 2u);
    expect_tree_closed();
}

TEST_F(EhciPeriodic, QhLinkedWhileTheScheduleRunsIsSeenAtTheNextTick) {
    start();
    int_qh(kIntA, kLinkTerminate, kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 8, QtdPid::In);
    entry(5) = link_of(kIntA, LinkType::Qh);
    f.run_frame(5);
    EXPECT_TRUE(f.executed.empty());  // no register access, no tick: not seen yet
    c->tick();
    f.run_frame(5);
    EXPECT_EQ(f.executed.size(), 1u);
}

TEST_F(EhciPeriodic, QhLinkedBehindAnUnchangedListIsSeenAtTheNextTick) {
    // The list stays the same (the quick sync), the tree behind its entries does not.
    int_qh(kIntA, kLinkTerminate, kLinkTerminate);
    for (u32 k = 0; k < kFrameListEntries; k += 4) entry(k) = link_of(kIntA, LinkType::Qh);
    start();
    c->tick();
    int_qh(kIntB, kLinkTerminate, kTd1, 2);
    guest_qtd(f.g, kTd1, kTdDummy, kBuf, 8, QtdPid::In);
    guest_qtd(f.g, kTdDummy, kLinkTerminate, 0, 0, QtdPid::Out, false).token = kQtdHalted;
    reinterpret_cast<Qh*>(f.g.ram.data() + kIntA)->hlink = link_of(kIntB, LinkType::Qh);
    c->tick();
    f.run_frame(4);
    EXPECT_EQ(f.executed.size(), 1u);
    (void)c->read(kSts, 4);
    // The next report queued as Linux does: the dummy filled in, a new dummy after it.
    guest_qtd(f.g, kTd2, kLinkTerminate, 0, 0, QtdPid::Out, false).token = kQtdHalted;
    guest_qtd(f.g, kTdDummy, kTd2, kBuf, 8, QtdPid::In);
    c->tick();
    f.run_frame(8);
    EXPECT_EQ(f.executed.size(), 2u);
    expect_tree_closed();
}

TEST_F(EhciPeriodic, FrameListEntryIntoTheMonitorIsRefusedAndNeverFollowed) {
    int_qh(kIntA, kLinkTerminate, kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 8, QtdPid::In);
    entry(0) = link_of(kMonitor, LinkType::Qh);
    entry(1) = link_of(kIntA, LinkType::Qh);
    entry(2) = link_of(kMonitor + 0x100, LinkType::Itd);
    start();
    EXPECT_TRUE(refused_with("periodic schedule: queue head outside guest memory"));
    EXPECT_TRUE(refused_with("periodic schedule: isochronous descriptor or FSTN outside guest memory"));
    u32 const* list = device_list();
    ASSERT_NE(list, nullptr);
    EXPECT_EQ(list[0], kLinkTerminate);
    EXPECT_EQ(list[2], kLinkTerminate);
    EXPECT_EQ(list[1], qh_link(c->periodic().device_qh_of(kIntA)));  // the rest still runs
    expect_tree_closed();
    EXPECT_EQ(f.executed.size(), 1u);
}

TEST_F(EhciPeriodic, FrameListInTheMonitorIsRefusedEveryEntryTerminated) {
    int_qh(kIntA, kLinkTerminate, kLinkTerminate);
    entry(0) = link_of(kIntA, LinkType::Qh);
    start();
    ASSERT_NE(device_list()[0], kLinkTerminate);
    c->write(kPeriodic, 4, kMonitor);
    EXPECT_EQ(c->read(kPeriodic, 4), kMonitor);
    EXPECT_TRUE(refused_with("frame list outside guest memory"));
    for (u32 k = 0; k < kFrameListEntries; ++k) ASSERT_EQ(device_list()[k], kLinkTerminate);
    EXPECT_TRUE(f.in_dma(f.periodic, kPageSize));
}

TEST_F(EhciPeriodic, QhLoopInThePeriodicTreeIsCut) {
    // A -> B -> C -> B: never back to T.
    int_qh(kIntA, link_of(kIntB, LinkType::Qh), kTd1);
    int_qh(kIntB, link_of(kIntC, LinkType::Qh), kLinkTerminate);
    int_qh(kIntC, link_of(kIntB, LinkType::Qh), kLinkTerminate);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 8, QtdPid::In);
    for (u32 k = 0; k < kFrameListEntries; k += 2) entry(k) = link_of(kIntA, LinkType::Qh);
    entry(1) = link_of(kIntC, LinkType::Qh);  // into the loop at another node
    start();
    EXPECT_TRUE(refused_with("a loop in the periodic schedule"));
    EXPECT_EQ(c->periodic().pool_counters().qh_linked, 3u);  // each shadowed once
    expect_tree_closed();
    EXPECT_EQ(f.executed.size(), 1u);
}

TEST_F(EhciPeriodic, LongChainsAreBounded) {
    // 200 QHs in one chain: more than the shadow follows; the chain is cut, nothing loops.
    constexpr u32 kChain = 0x20000;
    for (u32 i = 0; i < 200; ++i) int_qh(kChain + i * 64, i == 199 ? kLinkTerminate : link_of(kChain + (i + 1) * 64, LinkType::Qh), kLinkTerminate);
    entry(0) = link_of(kChain, LinkType::Qh);
    start();
    EXPECT_TRUE(refused_with("more periodic schedule entries than the shadow follows"));
    EXPECT_TRUE(refused_with("more queue heads than the shadow holds"));
    expect_tree_closed();
}

TEST_F(EhciPeriodic, OversizedQtdOnAnInterruptQhIsRefusedAndShownHalted) {
    int_qh(kIntA, kLinkTerminate, kTd1);
    guest_qtd(f.g, kTd1, kTd2, kBuf, 0x5001, QtdPid::In);          // over 20 KiB
    guest_qtd(f.g, kTd2, kLinkTerminate, kMonitor - 0x800, 0x1000);  // its second half in the monitor
    entry(0) = link_of(kIntA, LinkType::Qh);
    start();
    EXPECT_TRUE(refused_with("periodic schedule: qTD of more than 20 KiB"));
    EXPECT_TRUE(td(kTd1).token & kQtdHalted);
    EXPECT_FALSE(td(kTd1).token & kQtdActive);
    expect_tree_closed();
    EXPECT_TRUE(f.executed.empty());
}

TEST_F(EhciPeriodic, IsochronousDescriptorsAreSkippedNeverGiven) {
    // slot 0: iTD -> siTD -> FSTN -> A; the controller is given A straight away.
    int_qh(kIntA, kLinkTerminate, kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 8, QtdPid::In);
    *reinterpret_cast<u32*>(f.g.ram.data() + kItd) = link_of(kSitd, LinkType::Sitd);
    *reinterpret_cast<u32*>(f.g.ram.data() + kSitd) = link_of(kFstn, LinkType::Fstn);
    *reinterpret_cast<u32*>(f.g.ram.data() + kFstn) = link_of(kIntA, LinkType::Qh);
    entry(0) = link_of(kItd, LinkType::Itd);
    start();
    EXPECT_EQ(device_list()[0], qh_link(c->periodic().device_qh_of(kIntA)));
    EXPECT_TRUE(refused_with("iTD (isochronous) not shadowed"));
    EXPECT_TRUE(refused_with("siTD (split isochronous) not shadowed"));
    EXPECT_TRUE(refused_with("FSTN not shadowed"));
    EXPECT_EQ(c->periodic().counters().skipped, 3u);
    expect_tree_closed();
    EXPECT_EQ(f.executed.size(), 1u);
}

TEST_F(EhciPeriodic, UnlinkedQhKeepsItsShadowTwoFrames) {
    int_qh(kIntA, kLinkTerminate, kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 8, QtdPid::In);
    entry(0) = link_of(kIntA, LinkType::Qh);
    start();
    u32 const shadow_a = c->periodic().device_qh_of(kIntA);
    ASSERT_NE(shadow_a, 0u);
    entry(0) = kLinkTerminate;  // A unlinked
    c->tick();
    EXPECT_EQ(device_list()[0], kLinkTerminate);
    int_qh(kIntB, kLinkTerminate, kLinkTerminate, 2);
    entry(1) = link_of(kIntB, LinkType::Qh);
    c->tick();  // the controller may still be in A: B gets another shadow
    EXPECT_NE(c->periodic().device_qh_of(kIntB), shadow_a);
    f.frindex += 16;  // two frames on
    c->tick();        // A's shadow freed
    int_qh(kIntC, kLinkTerminate, kLinkTerminate, 3);
    entry(2) = link_of(kIntC, LinkType::Qh);
    c->tick();
    EXPECT_EQ(c->periodic().device_qh_of(kIntC), shadow_a);
    expect_tree_closed();
}

TEST_F(EhciPeriodic, ProgrammableFrameListSizeIsFollowed) {
    // A 256-entry list: what lies past it in the guest's page is not the list's.
    f.hccparams |= kHccProgFrameList;
    auto c2 = std::make_unique<EhciController>();
    ASSERT_TRUE(c2->init(&f, f.mem()));
    int_qh(kIntA, kLinkTerminate, kLinkTerminate);
    int_qh(kIntB, kLinkTerminate, kLinkTerminate, 2);
    entry(255) = link_of(kIntA, LinkType::Qh);
    for (u32 k = 256; k < kFrameListEntries; ++k) entry(k) = link_of(kIntB, LinkType::Qh);
    c2->write(kPeriodic, 4, kList);
    c2->write(kCmd, 4, kCmdRun | kCmdPeriodic | (2u << 2));
    EXPECT_TRUE(f.refusals.empty());
    EXPECT_EQ(device_list()[255], qh_link(c2->periodic().device_qh_of(kIntA)));
    EXPECT_EQ(c2->periodic().device_qh_of(kIntB), 0u);
    for (u32 k = 256; k < kFrameListEntries; ++k) ASSERT_EQ(device_list()[k], kLinkTerminate);
    c2->write(kCmd, 4, kCmdRun | kCmdPeriodic);  // 1024 entries now
    EXPECT_EQ(device_list()[1023], qh_link(c2->periodic().device_qh_of(kIntB)));
    c2->write(kCmd, 4, kCmdRun | kCmdPeriodic | (3u << 2));
    EXPECT_TRUE(refused_with("the reserved frame list size"));
    EXPECT_EQ(device_list()[255], kLinkTerminate);
}

TEST_F(EhciPeriodic, ResetDropsEveryShadowAndTerminatesTheList) {
    int_qh(kIntA, kLinkTerminate, kLinkTerminate);
    entry(0) = link_of(kIntA, LinkType::Qh);
    start();
    ASSERT_NE(device_list()[0], kLinkTerminate);
    c->write(kCmd, 4, kCmdReset);
    EXPECT_EQ(c->periodic().device_qh_of(kIntA), 0u);
    EXPECT_EQ(c->read(kPeriodic, 4), 0u);
    f.periodic = 0;  // what a reset leaves
    c->write(kCmd, 4, kCmdRun | kCmdPeriodic);
    ASSERT_TRUE(f.in_dma(f.periodic, kPageSize));
    EXPECT_EQ(device_list()[0], kLinkTerminate);  // no base yet: guest page 0 read, refused or empty
    expect_tree_closed();
}

}  // namespace
}  // namespace tv::usb::test
