// The boot-time EHCI host driver's queue heads, qTDs and root-port decisions
// (drivers/usb/host/ehci_host_qh.*); the control transfers it builds are run by the EHCI
// tests' controller model (test_ehci_fake.hpp), which walks the async schedule as 4.10 says.
#include <gtest/gtest.h>

#include "drivers/usb/host/ehci_host_qh.hpp"
#include "tests/unit/test_ehci_fake.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::host;

namespace {

u32 pid_of(Qtd const& t) { return (t.token >> 8) & 3; }
bool toggle_of(Qtd const& t) { return (t.token & kQtdToggle) != 0; }

}  // namespace

TEST(UsbHostEhci, RootPortsWithoutAHighSpeedDeviceGoToTheCompanion) {
    EXPECT_EQ(classify_root_port(0, false), RootPort::Empty);
    EXPECT_EQ(classify_root_port(kPortConnect | kPortPower | kPortLineK, false), RootPort::Companion)
        << "K state before the reset: low speed";
    EXPECT_EQ(classify_root_port(kPortConnect | kPortPower | (2u << 10), false), RootPort::Reset);
    EXPECT_EQ(classify_root_port(kPortConnect | kPortPower | kPortEnabled, true), RootPort::Enabled);
    EXPECT_EQ(classify_root_port(kPortConnect | kPortPower, true), RootPort::Companion)
        << "still disabled after the reset: full speed";
    EXPECT_EQ(classify_root_port(kPortPower, true), RootPort::Empty);
}

TEST(UsbHostEhci, QueueHeadFields) {
    QhFields const bulk = qh_fields(5, 2, UsbSpeed::High, 512, false, 0, 0);
    EXPECT_EQ(bulk.epchar & 0x7f, 5u);
    EXPECT_EQ((bulk.epchar >> 8) & 0xf, 2u);
    EXPECT_EQ((bulk.epchar >> 12) & 3, 2u) << "high speed";
    EXPECT_EQ((bulk.epchar >> 16) & 0x7ff, 512u);
    EXPECT_EQ(bulk.epchar & (1u << 14), 0u) << "bulk keeps its toggle in the QH";
    EXPECT_EQ(bulk.epchar & (1u << 27), 0u);
    EXPECT_EQ(bulk.epcap, 1u << 30) << "no split fields at high speed";
    QhFields const split = qh_fields(7, 0, UsbSpeed::Full, 64, true, 3, 4);
    EXPECT_EQ((split.epchar >> 12) & 3, 0u) << "full speed";
    EXPECT_NE(split.epchar & (1u << 14), 0u) << "control: toggle from the qTDs";
    EXPECT_NE(split.epchar & (1u << 27), 0u) << "control endpoint flag below a TT";
    EXPECT_EQ((split.epcap >> 16) & 0x7f, 3u) << "the high-speed hub's address";
    EXPECT_EQ((split.epcap >> 23) & 0x7f, 4u) << "its port";
    QhFields const low = qh_fields(7, 1, UsbSpeed::Low, 8, false, 3, 1);
    EXPECT_EQ((low.epchar >> 12) & 3, 1u);
    QhFields const hs_ctl = qh_fields(1, 0, UsbSpeed::High, 64, true, 0, 0);
    EXPECT_EQ(hs_ctl.epchar & (1u << 27), 0u) << "no control flag at high speed";
}

TEST(UsbHostEhci, ControlTransferQtds) {
    Qtd t[3] = {};
    u32 const last = build_control(t, 0x1000, 0x1800, 0x2000, 18, true);
    ASSERT_EQ(last, 2u);
    EXPECT_EQ(pid_of(t[0]), 2u);
    EXPECT_EQ(qtd_bytes(t[0].token), 8u);
    EXPECT_FALSE(toggle_of(t[0]));
    EXPECT_EQ(t[0].buffer[0], 0x1800u);
    EXPECT_EQ(t[0].next, 0x1020u);
    EXPECT_EQ(pid_of(t[1]), 1u);
    EXPECT_EQ(qtd_bytes(t[1].token), 18u);
    EXPECT_TRUE(toggle_of(t[1]));
    EXPECT_EQ(t[1].next, 0x1040u);
    EXPECT_EQ(t[1].alt_next, 0x1040u) << "a short packet goes on to the status stage";
    EXPECT_EQ(pid_of(t[2]), 0u) << "the status stage of an IN transfer is OUT";
    EXPECT_TRUE(toggle_of(t[2]));
    EXPECT_NE(t[2].token & kQtdIoc, 0u);
    EXPECT_EQ(t[2].next, kLinkTerminate);
    for (auto const& q : t)
        EXPECT_NE(q.token & kQtdActive, 0u);
    Qtd n[3] = {};
    ASSERT_EQ(build_control(n, 0x1000, 0x1800, 0x2000, 0, false), 1u) << "no data stage";
    EXPECT_EQ(n[0].next, 0x1020u);
    EXPECT_EQ(pid_of(n[1]), 1u) << "the status stage without data is IN";
}

TEST(UsbHostEhci, FinishedQtds) {
    EXPECT_EQ(qtd_state(kQtdActive | (8u << 16)), QtdState::Active);
    EXPECT_EQ(qtd_state(0), QtdState::Done);
    EXPECT_EQ(qtd_state(kQtdHalted), QtdState::Failed) << "a STALL";
    EXPECT_EQ(qtd_state(0x08), QtdState::Failed) << "a transaction error";
    EXPECT_EQ(qtd_remaining(10u << 16), 10u);
    EXPECT_EQ(eecp_offset(0xa006), 0xa0);
    EXPECT_EQ(eecp_offset(0x0006), 0);
}

// The qTDs run by the controller model in the order and with the sizes the device sees; a
// short IN data stage goes on to the status stage through the alternate next pointer.
TEST(UsbHostEhci, TheControllerModelRunsTheControlTransfer) {
    for (u32 short_by : {0u, 10u}) {
        test::FakeEhci f;
        u32 const head = test::kDmaBase, qh = head + 64, tds = head + 0x400;
        auto* h = f.at<Qh>(head);
        auto* q = f.at<Qh>(qh);
        h->hlink = qh_link(qh);
        h->epchar = kQhHead;
        h->overlay = Qtd{kLinkTerminate, kLinkTerminate, kQtdHalted, {}};
        QhFields const fl = qh_fields(1, 0, UsbSpeed::High, 64, true, 0, 0);
        q->hlink = qh_link(head);
        q->epchar = fl.epchar;
        q->epcap = fl.epcap;
        q->overlay = Qtd{tds, kLinkTerminate, 0, {}};
        Qtd(&t)[3] = *reinterpret_cast<Qtd(*)[3]>(f.at<Qtd>(tds));
        u32 const last = build_control(t, tds, tds + 0x100, 0x8000, 18, true);
        f.cmd = kCmdRun | kCmdAsync;
        f.async = head;
        f.run(short_by);
        ASSERT_EQ(f.executed.size(), 3u) << "short by " << short_by;
        EXPECT_EQ(f.executed[0].pid, QtdPid::Setup);
        EXPECT_EQ(f.executed[1].pid, QtdPid::In);
        EXPECT_EQ(f.executed[1].bytes, 18u);
        EXPECT_EQ(f.executed[2].pid, QtdPid::Out);
        EXPECT_EQ(qtd_state(t[last].token), QtdState::Done);
        EXPECT_EQ(qtd_remaining(t[1].token), short_by);
        EXPECT_TRUE(f.strays.empty());
    }
}
