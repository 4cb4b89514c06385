// The EHCI mediator's shadow of the asynchronous schedule (drivers/usb/ehci_schedule.hpp),
// driven through its registers (ehci_controller.hpp) against the fake controller of
// test_ehci_fake.hpp, which runs only what is in the monitor's memory.
#include <gtest/gtest.h>

#include <memory>

#include "tests/unit/test_ehci_fake.hpp"

namespace tv::usb::test {
namespace {

constexpr u32 kHead = 0x1000, kQhB = 0x1040, kQhC = 0x1080;
constexpr u32 kTd1 = 0x2000, kTd2 = 0x2020, kTd3 = 0x2040, kTdDummy = 0x2060;
constexpr u32 kBuf = 0x10000;
constexpr u32 kCmd = kOpBase + op(EhciOp::UsbCmd), kSts = kOpBase + op(EhciOp::UsbSts);
constexpr u32 kAsync = kOpBase + op(EhciOp::AsyncListAddr), kPeriodic = kOpBase + op(EhciOp::PeriodicListBase);

class EhciSchedule : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(c->init(&f, f.mem())); }
    // The head (halted, no qTDs) and one endpoint QH after it, in a ring.
    void two_qh_ring(u32 first_td) {
        Qh& h = guest_qh(f.g, kHead, kQhB, true, kLinkTerminate, 0);
        h.overlay.token = kQtdHalted;
        guest_qh(f.g, kQhB, kHead, false, first_td);
    }
    void start() {
        c->write(kAsync, 4, kHead);
        c->write(kCmd, 4, kCmdRun | kCmdAsync);
    }
    Qtd& td(u32 at) { return *reinterpret_cast<Qtd*>(f.g.ram.data() + at); }
    Qh& qh(u32 at) { return *reinterpret_cast<Qh*>(f.g.ram.data() + at); }
    bool refused_with(char const* what) const {
        for (auto const& r : f.refusals)
            if (r.find(what) != std::string::npos) return true;
        return false;
    }

    FakeEhci f;
    std::unique_ptr<EhciController> c = std::make_unique<EhciController>();
};

TEST_F(EhciSchedule, ControllerGetsTheShadowOfTheGuestsHeadNeverTheGuestsQh) {
    two_qh_ring(kLinkTerminate);
    start();
    EXPECT_TRUE(f.in_dma(f.async, sizeof(Qh)));
    EXPECT_EQ(c->read(kAsync, 4), kHead);  // the guest reads its own value back
    f.run();
    EXPECT_TRUE(f.strays.empty());
}

TEST_F(EhciSchedule, TransfersRunFromTheShadowAndCompleteIntoTheGuestsQtds) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kTd2, kBuf, 31);
    guest_qtd(f.g, kTd2, kLinkTerminate, kBuf + 0x1000, 512, QtdPid::In).token |= kQtdIoc;
    start();
    f.run(13);
    ASSERT_EQ(f.executed.size(), 2u);
    EXPECT_EQ(f.executed[0].buffer, kBuf);
    EXPECT_EQ(f.executed[1].bytes, 512u);
    EXPECT_TRUE(td(kTd1).token & kQtdActive);  // not before the guest looks
    (void)c->read(kSts, 4);
    EXPECT_FALSE(td(kTd1).token & kQtdActive);
    EXPECT_FALSE(td(kTd2).token & kQtdActive);
    EXPECT_EQ(qtd_bytes(td(kTd2).token), 13u);  // bytes left on the short read
    EXPECT_EQ(qh(kQhB).current, kTd2);          // the overlay names the guest's qTD
    EXPECT_EQ(qh(kQhB).overlay.next, kLinkTerminate);
    EXPECT_TRUE(f.strays.empty());
    EXPECT_TRUE(f.bad_buffers.empty());
    EXPECT_TRUE(f.refusals.empty());
}

TEST_F(EhciSchedule, QtdRewrittenAfterTheCopyChangesNothingTheControllerDoes) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 64);
    start();
    td(kTd1).buffer[0] = 0x80000;  // into the monitor, after the copy
    c->tick();
    f.run();
    ASSERT_EQ(f.executed.size(), 1u);
    EXPECT_EQ(f.executed[0].buffer, kBuf);
    EXPECT_TRUE(f.bad_buffers.empty());
}

TEST_F(EhciSchedule, BufferIntoTheMonitorIsRefusedLoggedAndShownHalted) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, 0x80000 - 0x800, 0x1000);  // its second half in the monitor
    start();
    f.run();
    EXPECT_TRUE(f.executed.empty());
    EXPECT_TRUE(refused_with("qTD buffer outside guest memory"));
    EXPECT_TRUE(td(kTd1).token & kQtdHalted);
    EXPECT_FALSE(td(kTd1).token & kQtdActive);
}

TEST_F(EhciSchedule, BadQtdsAreRefused) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kTd2, kBuf, 0x5001);                                 // over 20 KiB
    guest_qtd(f.g, kTd2, kTd3, kBuf, 8).token |= 3u << 8;                     // reserved PID
    guest_qtd(f.g, kTd3, kLinkTerminate, kBuf + 0x10, 0x5000 - 0x10 + 1);     // past page 4
    start();
    f.run();
    EXPECT_TRUE(f.executed.empty());
    EXPECT_TRUE(refused_with("more than 20 KiB"));
    EXPECT_TRUE(refused_with("reserved PID"));
    EXPECT_TRUE(refused_with("past its fifth page"));
}

TEST_F(EhciSchedule, QtdOutsideGuestMemoryEndsTheChain) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, 0x80000, kBuf, 8);
    start();
    f.run();
    EXPECT_EQ(f.executed.size(), 1u);
    EXPECT_TRUE(refused_with("qTD outside guest memory"));
    EXPECT_TRUE(f.strays.empty());
}

TEST_F(EhciSchedule, QueueHeadLoopsAndBadLinksAreBounded) {
    // head -> B -> C -> B: a loop that never comes back to the head.
    guest_qh(f.g, kHead, kQhB, true, kLinkTerminate).overlay.token = kQtdHalted;
    guest_qh(f.g, kQhB, kQhC, false, kLinkTerminate);
    guest_qh(f.g, kQhC, kQhB, false, kLinkTerminate);
    start();
    f.run();
    EXPECT_TRUE(f.strays.empty());
    EXPECT_NE(c->schedule().device_qh_of(kQhC), 0u);
    // C links into the monitor, then to an iTD: refused, the ring closes before.
    qh(kQhC).hlink = qh_link(0x80000);
    c->tick();
    EXPECT_TRUE(refused_with("queue head outside guest memory"));
    qh(kQhC).hlink = kHead;  // type iTD
    c->tick();
    EXPECT_TRUE(refused_with("other than a queue head"));
    f.run();
    EXPECT_TRUE(f.strays.empty());
}

TEST_F(EhciSchedule, MoreQueueHeadsThanTheShadowHoldsAreRefused) {
    u32 const n = tv::usb::EhciSchedule::kMaxQh + 4;
    for (u32 i = 0; i < n; ++i) guest_qh(f.g, kHead + i * 64, i + 1 == n ? kHead : kHead + (i + 1) * 64, i == 0, kLinkTerminate);
    start();
    EXPECT_TRUE(refused_with("more queue heads"));
    f.run();
    EXPECT_TRUE(f.strays.empty());
}

TEST_F(EhciSchedule, QtdLoopsAndLongChainsAreBounded) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kTd1, kBuf, 8);  // next is itself
    start();
    f.run();
    EXPECT_EQ(f.executed.size(), 1u);
    // 100 qTDs on one QH: the shadow takes kQtdsPerQh, the rest is refused and waits.
    constexpr u32 kChain = 0x20000;
    for (u32 i = 0; i < 100; ++i) guest_qtd(f.g, kChain + i * 32, i == 99 ? kLinkTerminate : kChain + (i + 1) * 32, kBuf, 8);
    guest_qh(f.g, kQhC, kHead, false, kChain, 2);
    qh(kQhB).hlink = qh_link(kQhC);
    (void)c->read(kSts, 4);
    f.run();
    EXPECT_TRUE(refused_with("more qTDs queued"));
    EXPECT_LE(f.executed.size(), 1u + tv::usb::EhciSchedule::kQtdsPerQh);
    EXPECT_TRUE(f.strays.empty());
}

TEST_F(EhciSchedule, CompletedQtdTheGuestReusesElsewhereIsNotRunAgainOnItsOldQueue) {
    // Linux frees a completed qTD and may reuse the memory for another queue's qTD at once:
    // the overlay still names it as current, but the controller will never run it again, and
    // neither are an inactive qTD's pointers followed (found on the first QEMU boot, which
    // refused garbage and ran transfers twice).
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kTdDummy, kBuf, 8);
    guest_qtd(f.g, kTdDummy, 0x80000, 0, 0, QtdPid::Out, false).token = kQtdHalted;  // a stale pointer
    start();
    f.run();
    (void)c->read(kSts, 4);
    ASSERT_EQ(f.executed.size(), 1u);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf + 0x3000, 16, QtdPid::In);  // reused, Active
    c->tick();
    f.run();
    EXPECT_EQ(f.executed.size(), 1u);
    EXPECT_TRUE(f.refusals.empty());  // the dummy's stale pointer was never followed
}

TEST_F(EhciSchedule, CompletedQtdsMemoryReusedInTheSameQueueIsTakenAsNewWork) {
    // Linux's qTD pool hands the memory of the qTD just completed (the overlay's current) to
    // the next request on the same queue: reached through the chain, it is new work.
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kTdDummy, kBuf, 8);
    guest_qtd(f.g, kTdDummy, kLinkTerminate, 0, 0, QtdPid::Out, false).token = kQtdHalted;
    start();
    f.run();
    (void)c->read(kSts, 4);
    ASSERT_EQ(f.executed.size(), 1u);
    guest_qtd(f.g, kTd3, kLinkTerminate, 0, 0, QtdPid::Out, false).token = kQtdHalted;  // the new dummy
    guest_qtd(f.g, kTd1, kTd3, kBuf + 0x4000, 32, QtdPid::In);                          // reused memory
    guest_qtd(f.g, kTdDummy, kTd1, kBuf + 0x2000, 16, QtdPid::In);                      // the old dummy, first
    c->tick();
    f.run();
    ASSERT_EQ(f.executed.size(), 3u);
    EXPECT_EQ(f.executed[1].buffer, kBuf + 0x2000u);
    EXPECT_EQ(f.executed[2].buffer, kBuf + 0x4000u);
    (void)c->read(kSts, 4);
    EXPECT_FALSE(td(kTd1).token & kQtdActive);
    EXPECT_TRUE(f.refusals.empty());
}

TEST_F(EhciSchedule, QtdsAppendedThroughTheDummyAreTakenAtTheNextTick) {
    // Linux: the QH's last qTD is an inactive dummy; new work is written into it, Active last.
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kTdDummy, kBuf, 8);
    guest_qtd(f.g, kTdDummy, kLinkTerminate, 0, 0, QtdPid::Out, false).token = kQtdHalted;
    start();
    f.run();
    ASSERT_EQ(f.executed.size(), 1u);
    guest_qtd(f.g, kTd3, kLinkTerminate, 0, 0, QtdPid::Out, false).token = kQtdHalted;  // the new dummy
    guest_qtd(f.g, kTdDummy, kTd3, kBuf + 0x2000, 100, QtdPid::In);
    f.run();
    EXPECT_EQ(f.executed.size(), 1u);  // no register access, no tick: not seen yet
    c->tick();
    f.run();
    ASSERT_EQ(f.executed.size(), 2u);
    EXPECT_EQ(f.executed[1].buffer, kBuf + 0x2000u);
    (void)c->read(kSts, 4);
    EXPECT_FALSE(td(kTdDummy).token & kQtdActive);
}

TEST_F(EhciSchedule, UnlinkedQueueHeadIsKeptUntilTheControllerAcknowledgesTheDoorbell) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 8);
    start();
    u32 const shadow_b = c->schedule().device_qh_of(kQhB);
    ASSERT_NE(shadow_b, 0u);
    qh(kHead).hlink = qh_link(kHead);  // B unlinked
    c->write(kCmd, 4, kCmdRun | kCmdAsync | kCmdIaaDoorbell);
    EXPECT_TRUE(f.iaa_rung);
    EXPECT_EQ(c->schedule().device_qh_of(kQhB), 0u);
    // The controller may still be in B: B's shadow keeps its contents until the advance.
    guest_qh(f.g, kQhC, kHead, false, kLinkTerminate, 2);
    qh(kHead).hlink = qh_link(kQhC);
    (void)c->read(kSts, 4);
    EXPECT_NE(c->schedule().device_qh_of(kQhC), shadow_b);
    f.run();  // runs B's qTD? B is out of the ring: only the head and C
    EXPECT_TRUE(f.executed.empty());
    f.advance();
    (void)c->read(kSts, 4);  // IAA seen: B's shadow freed, its last state written back
    EXPECT_EQ(c->schedule().counters().qh_linked, 3u);
    EXPECT_TRUE(f.strays.empty());
}

TEST_F(EhciSchedule, UnlinkedQueueHeadIsFreedWhenTheAsyncScheduleStops) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 8);
    start();
    u32 const shadow_b = c->schedule().device_qh_of(kQhB);
    qh(kHead).hlink = qh_link(kHead);  // B unlinked, then the schedule turned off
    (void)c->read(kSts, 4);
    c->write(kCmd, 4, kCmdRun);
    guest_qh(f.g, kQhC, kHead, false, kLinkTerminate, 2);
    qh(kHead).hlink = qh_link(kQhC);
    (void)c->read(kSts, 4);  // the controller reports the schedule stopped: B's shadow is free
    EXPECT_EQ(c->schedule().device_qh_of(kQhC), shadow_b);
}

TEST_F(EhciSchedule, HaltedQueueRestartedByTheGuestRunsAgain) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 8);
    start();
    Qh* shadow = f.at<Qh>(c->schedule().device_qh_of(kQhB));
    ASSERT_NE(shadow, nullptr);
    // The controller loads the qTD and halts on a transaction error.
    Qtd* first = f.at<Qtd>(shadow->overlay.next);
    ASSERT_NE(first, nullptr);
    shadow->current = shadow->overlay.next;
    shadow->overlay = *first;
    shadow->overlay.token = (first->token & ~kQtdActive) | kQtdHalted | (1u << 3);
    first->token = shadow->overlay.token;
    (void)c->read(kSts, 4);
    ASSERT_TRUE(qh(kQhB).overlay.token & kQtdHalted);
    // Linux's retry: the qTD and the overlay made Active again.
    u32 const retry = (qh(kQhB).overlay.token & ~(kQtdHalted | (1u << 3))) | kQtdActive | (3u << 10);
    td(kTd1).token = retry;
    qh(kQhB).overlay.token = retry;
    c->tick();
    EXPECT_EQ(shadow->overlay.token, retry);
    f.run();
    EXPECT_EQ(f.executed.size(), 1u);
}

TEST_F(EhciSchedule, PeriodicListBaseReadsBackAsTheGuestsAndTheControllerGetsTheMonitors) {
    // The periodic schedule's shadow itself: test_ehci_periodic.cpp.
    c->write(kPeriodic, 4, 0x3000);
    EXPECT_EQ(c->read(kPeriodic, 4), 0x3000u);
    ASSERT_TRUE(f.in_dma(f.periodic, kPageSize));
    u32 const* list = f.at<u32>(f.periodic);
    for (u32 i = 0; i < kFrameListEntries; ++i) ASSERT_EQ(list[i], kLinkTerminate);
}

TEST_F(EhciSchedule, RegisterRulesHold) {
    c->write(kOpBase + op(EhciOp::CtrlDsSegment), 4, 1);
    EXPECT_TRUE(refused_with("CTRLDSSEGMENT"));
    EXPECT_EQ(c->read(kOpBase + op(EhciOp::CtrlDsSegment), 4), 0u);
    c->write(kAsync, 2, 0x1234);
    EXPECT_TRUE(refused_with("not an aligned 32-bit access"));
    EXPECT_EQ(f.async, 0u);
    c->write(kCmd, 4, kCmdRun | kCmdLightReset);
    EXPECT_TRUE(refused_with("light host controller reset"));
    EXPECT_FALSE(f.cmd & kCmdLightReset);
    // A host controller reset drops every shadow.
    two_qh_ring(kLinkTerminate);
    start();
    EXPECT_NE(c->schedule().device_qh_of(kQhB), 0u);
    c->write(kCmd, 4, kCmdReset);
    EXPECT_EQ(c->schedule().device_qh_of(kQhB), 0u);
}

TEST_F(EhciSchedule, ControllerNeverRunsFromAListAddressTheMonitorDidNotGive) {
    // Found by fuzz_ehci: the async schedule enabled without ASYNCLISTADDR, and a reset
    // written together with Run, left the controller at address 0 of guest memory.
    c->write(kCmd, 4, kCmdRun | kCmdAsync);
    EXPECT_TRUE(f.in_dma(f.async, sizeof(Qh)));
    EXPECT_TRUE(f.in_dma(f.periodic, kPageSize));
    c->write(kCmd, 4, kCmdReset | kCmdRun | kCmdAsync);
    EXPECT_FALSE(f.cmd & kCmdRun);
    f.async = f.periodic = 0;  // what a reset leaves
    c->write(kCmd, 4, kCmdRun | kCmdAsync);
    EXPECT_TRUE(f.in_dma(f.async, sizeof(Qh)));
    f.run();
    EXPECT_TRUE(f.strays.empty());
}

TEST_F(EhciSchedule, ControllerWithSixtyFourBitAddressingIsNotTaken) {
    FakeEhci g64;
    g64.hccparams = 0x81;
    auto c64 = std::make_unique<EhciController>();
    EXPECT_FALSE(c64->init(&g64, g64.mem()));
    EXPECT_TRUE(g64.writes.empty());
}

}  // namespace
}  // namespace tv::usb::test

namespace tv::usb::test {
namespace {

// The attack helper's finding: the guest stops the async schedule, waits for it to stop, and
// rebuilds a QH in place (another endpoint, a new chain); the controller runs the new QH.
TEST_F(EhciSchedule, AQhRebuiltInPlaceWhileTheScheduleWasStoppedRunsItsNewQtds) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 31);
    start();
    f.run();
    (void)c->read(kSts, 4);
    ASSERT_EQ(f.executed.size(), 1u);
    c->write(kCmd, 4, kCmdRun);
    ASSERT_FALSE(c->read(kSts, 4) & kStsAsync);  // stopped
    guest_qh(f.g, kQhB, kHead, false, kTd3, 5);
    guest_qtd(f.g, kTd3, kLinkTerminate, kBuf + 0x2000, 64, QtdPid::In);
    (void)c->read(kSts, 4);
    c->write(kCmd, 4, kCmdRun | kCmdAsync);
    f.run();
    ASSERT_EQ(f.executed.size(), 2u);
    EXPECT_EQ(f.executed[1].buffer, kBuf + 0x2000);
    EXPECT_EQ(f.executed[1].pid, QtdPid::In);
    EXPECT_TRUE(f.strays.empty());
}

// While it runs, the QH's overlay stays the controller's: the guest rewriting it changes nothing.
TEST_F(EhciSchedule, AQhRewrittenWhileTheScheduleRunsKeepsTheControllersOverlay) {
    two_qh_ring(kTd1);
    guest_qtd(f.g, kTd1, kLinkTerminate, kBuf, 31);
    start();
    f.run();
    (void)c->read(kSts, 4);
    guest_qh(f.g, kQhB, kHead, false, kTd3, 5);
    guest_qtd(f.g, kTd3, kLinkTerminate, kBuf + 0x2000, 64, QtdPid::In);
    c->tick();
    f.run();
    EXPECT_EQ(f.executed.size(), 1u);
}

}  // namespace
}  // namespace tv::usb::test
