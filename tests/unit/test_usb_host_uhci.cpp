// The boot-time UHCI host driver's transfer descriptors (drivers/usb/host/uhci_host_td.*):
// one TD a packet, the data toggle alternating, how a chain's progress reads back.
#include <gtest/gtest.h>

#include "drivers/usb/host/uhci_host_td.hpp"

using namespace tv;
using namespace tv::usb::host;

namespace {

u32 max_len(UhciTd const& t) { return ((t.token >> 21) + 1) & 0x7ff; }
bool toggle_of(UhciTd const& t) { return (t.token & (1u << 19)) != 0; }
// The controller's write-back: inactive, `n` bytes moved (stored minus one).
void finish(UhciTd& t, u32 n, u32 extra = 0) { t.status = (t.status & ~(kUhciActive | 0x7ffu)) | ((n - 1) & 0x7ff) | extra; }

}  // namespace

TEST(UsbHostUhci, AStageIsOneTdAPacketWithTheToggleAlternating) {
    UhciTd td[8] = {};
    bool toggle = true;
    ASSERT_EQ(uhci_fill_stage(td, 0x1000, 8, UhciPid::Out, 5, 3, false, 0x8000, 150, 64, toggle), 3u);
    EXPECT_FALSE(toggle) << "left at the next packet's: DATA1, DATA0, DATA1, then DATA0";
    EXPECT_EQ(max_len(td[0]), 64u);
    EXPECT_EQ(max_len(td[1]), 64u);
    EXPECT_EQ(max_len(td[2]), 22u);
    EXPECT_TRUE(toggle_of(td[0]));
    EXPECT_FALSE(toggle_of(td[1]));
    EXPECT_TRUE(toggle_of(td[2]));
    EXPECT_EQ(td[0].buffer, 0x8000u);
    EXPECT_EQ(td[2].buffer, 0x8080u);
    EXPECT_EQ(td[0].link, 0x1020u | kUhciDepthFirst);
    EXPECT_EQ(td[1].link, 0x1040u | kUhciDepthFirst);
    EXPECT_EQ(td[2].link, kUhciTerminate);
    EXPECT_EQ(td[0].token & 0xff, 0xe1u);
    EXPECT_EQ((td[0].token >> 8) & 0x7f, 5u);
    EXPECT_EQ((td[0].token >> 15) & 0xf, 3u);
    EXPECT_EQ(td[0].status & kUhciSpd, 0u) << "OUT needs no short-packet detection";
    for (u32 i = 0; i < 3; ++i)
        EXPECT_NE(td[i].status & kUhciActive, 0u);
}

TEST(UsbHostUhci, ZeroLengthLowSpeedAndTooLong) {
    UhciTd td[4] = {};
    bool toggle = true;
    ASSERT_EQ(uhci_fill_stage(td, 0x1000, 4, UhciPid::In, 1, 0, true, 0, 0, 8, toggle), 1u);
    EXPECT_EQ((td[0].token >> 21) & 0x7ff, 0x7ffu) << "a zero-length packet";
    EXPECT_NE(td[0].status & kUhciLowSpeed, 0u);
    EXPECT_NE(td[0].status & kUhciSpd, 0u);
    toggle = false;
    EXPECT_EQ(uhci_fill_stage(td, 0x1000, 4, UhciPid::In, 1, 1, false, 0x8000, 512, 64, toggle), 0u)
        << "eight packets do not fit in four TDs";
    EXPECT_EQ(uhci_fill_stage(td, 0x1000, 4, UhciPid::In, 1, 1, false, 0x8000, 64, 0, toggle), 0u);
}

TEST(UsbHostUhci, ProgressOfAChain) {
    UhciTd td[3] = {};
    bool toggle = false;
    ASSERT_EQ(uhci_fill_stage(td, 0x1000, 3, UhciPid::In, 2, 1, false, 0x8000, 192, 64, toggle), 3u);
    u32 bytes = 0, finished = 0;
    EXPECT_EQ(uhci_progress(td, 3, bytes, finished), UhciProgress::Active);
    td[0].status |= 1u << 19;  // NAKed and still active: the device is busy, not failed
    EXPECT_EQ(uhci_progress(td, 3, bytes, finished), UhciProgress::Active);
    finish(td[0], 64);
    EXPECT_EQ(uhci_progress(td, 3, bytes, finished), UhciProgress::Active);
    EXPECT_EQ(bytes, 64u);
    EXPECT_EQ(finished, 1u);
    finish(td[1], 10);
    EXPECT_EQ(uhci_progress(td, 3, bytes, finished), UhciProgress::Short);
    EXPECT_EQ(bytes, 74u);
    EXPECT_EQ(finished, 2u);
    finish(td[1], 64);
    finish(td[2], 64);
    EXPECT_EQ(uhci_progress(td, 3, bytes, finished), UhciProgress::Done);
    EXPECT_EQ(bytes, 192u);
    EXPECT_EQ(finished, 3u);
    finish(td[2], 0x800, kUhciStalled);
    EXPECT_EQ(uhci_progress(td, 3, bytes, finished), UhciProgress::Failed);
    finish(td[2], 0x800, 1u << 18);  // CRC or time-out, its retries used up
    EXPECT_EQ(uhci_progress(td, 3, bytes, finished), UhciProgress::Failed);
}
