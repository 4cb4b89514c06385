// TRB checks: every buffer pointer against the guest-memory rule, immediate data, the
// transfer ring's allowed types, and the command ring's allow-list with its pointers.
#include <gtest/gtest.h>

#include "drivers/usb/xhci_check.hpp"
#include "tests/unit/test_xhci_fake.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

namespace {

Trb make(TrbType type, u64 param = 0, u32 status = 0, u32 flags = 0) {
    Trb t{param, status, flags};
    set_trb_type(t, type);
    return t;
}

Trb command(TrbType type, u8 slot, u64 param = 0, u8 ep = 0, u32 flags = 0) {
    return make(type, param, 0, flags | u32{slot} << 24 | u32{ep} << 16);
}

TrbLimits limits() {
    TrbLimits l;
    l.interrupters = 1;
    l.max_slots = 8;
    l.input_context_bytes = 33 * 32;
    return l;
}

}  // namespace

TEST(XhciCheck, ANormalTrbInGuestMemoryIsAccepted) {
    FakeGuest g;
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::Normal, 0x2000, 4096), limits()), nullptr);
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::DataStage, 0x3000, 18, kTrbDirIn), limits()), nullptr);
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::Isoch, 0x4000, 1024), limits()), nullptr);
}

TEST(XhciCheck, ABufferPointingAtTheMonitorIsRefused) {
    FakeGuest g;
    EXPECT_NE(check_transfer_trb(g, make(TrbType::Normal, kHiddenBase, 512), limits()), nullptr);
    EXPECT_NE(check_transfer_trb(g, make(TrbType::DataStage, kHiddenBase - 256, 512), limits()), nullptr);  // straddles
    EXPECT_NE(check_transfer_trb(g, make(TrbType::Isoch, kHiddenEnd - 1, 2), limits()), nullptr);
}

TEST(XhciCheck, ABufferPastRamOrWrappingIsRefused) {
    FakeGuest g;
    EXPECT_NE(check_transfer_trb(g, make(TrbType::Normal, kRam - 100, 512), limits()), nullptr);
    EXPECT_NE(check_transfer_trb(g, make(TrbType::Normal, ~u64{0} - 10, 512), limits()), nullptr);
}

TEST(XhciCheck, ABufferOver64KiBIsRefused) {
    FakeGuest g;
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::Normal, 0x10000, 0x10000), limits()), nullptr);
    EXPECT_NE(check_transfer_trb(g, make(TrbType::Normal, 0x10000, 0x10001), limits()), nullptr);
}

TEST(XhciCheck, ImmediateDataIsNotAPointerButIsAtMostEightBytes) {
    FakeGuest g;
    // A pointer-looking value into the monitor is only data when IDT is set.
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::Normal, kHiddenBase, 8, kTrbIdt), limits()), nullptr);
    EXPECT_NE(check_transfer_trb(g, make(TrbType::Normal, 0x2000, 9, kTrbIdt), limits()), nullptr);
}

TEST(XhciCheck, ASetupStageMustCarryItsEightBytesImmediate) {
    FakeGuest g;
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::SetupStage, 0x0100000680, 8, kTrbIdt), limits()), nullptr);
    EXPECT_NE(check_transfer_trb(g, make(TrbType::SetupStage, 0x2000, 8), limits()), nullptr);
    EXPECT_NE(check_transfer_trb(g, make(TrbType::SetupStage, 0x2000, 16, kTrbIdt), limits()), nullptr);
}

TEST(XhciCheck, AZeroLengthBufferIsNeverUsedSoItsPointerIsNotChecked) {
    FakeGuest g;
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::Normal, kHiddenBase, 0), limits()), nullptr);
}

TEST(XhciCheck, StatusEventDataAndNoOpNameNoMemory) {
    FakeGuest g;
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::StatusStage, kHiddenBase), limits()), nullptr);
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::EventData, kHiddenBase), limits()), nullptr);
    EXPECT_EQ(check_transfer_trb(g, make(TrbType::NoOp), limits()), nullptr);
}

TEST(XhciCheck, CommandAndEventTypesAreRefusedOnATransferRing) {
    FakeGuest g;
    for (TrbType t : {TrbType::Reserved, TrbType::EnableSlot, TrbType::AddressDevice, TrbType::TransferEvent,
                      TrbType::CommandCompletion, static_cast<TrbType>(63)})
        EXPECT_NE(check_transfer_trb(g, make(t), limits()), nullptr) << static_cast<int>(t);
}

TEST(XhciCheck, AnInterrupterTargetBeyondTheShadowedOnesIsRefused) {
    FakeGuest g;
    EXPECT_NE(check_transfer_trb(g, make(TrbType::NoOp, 0, 1u << kTrbIntrShift), limits()), nullptr);
}

TEST(XhciCheck, CommandsWithAnInputContextAreCheckedAndShadowed) {
    FakeGuest g;
    for (TrbType t : {TrbType::AddressDevice, TrbType::ConfigureEndpoint, TrbType::EvaluateContext}) {
        CommandCheck c = check_command_trb(g, command(t, 1, 0x4000), limits());
        EXPECT_EQ(c.why, nullptr);
        EXPECT_EQ(c.kind, CommandKind::InputContext);
        EXPECT_NE(check_command_trb(g, command(t, 1, kHiddenBase - 0x100), limits()).why, nullptr);  // straddles
        EXPECT_NE(check_command_trb(g, command(t, 1, 0x4008), limits()).why, nullptr);
        EXPECT_NE(check_command_trb(g, command(t, 0, 0x4000), limits()).why, nullptr);
        EXPECT_NE(check_command_trb(g, command(t, 9, 0x4000), limits()).why, nullptr);
    }
}

TEST(XhciCheck, ADeconfigureReadsNoInputContext) {
    FakeGuest g;
    CommandCheck c = check_command_trb(g, command(TrbType::ConfigureEndpoint, 1, kHiddenBase, 0, kTrbDeconfigure), limits());
    EXPECT_EQ(c.why, nullptr);
    EXPECT_EQ(c.kind, CommandKind::Plain);
}

TEST(XhciCheck, SetTrDequeueNeedsAGuestRingAndNoStreams) {
    FakeGuest g;
    CommandCheck c = check_command_trb(g, command(TrbType::SetTrDequeue, 2, 0x5001, 3), limits());
    EXPECT_EQ(c.why, nullptr);
    EXPECT_EQ(c.kind, CommandKind::Dequeue);
    EXPECT_NE(check_command_trb(g, command(TrbType::SetTrDequeue, 2, kHiddenBase | 1, 3), limits()).why, nullptr);
    EXPECT_NE(check_command_trb(g, command(TrbType::SetTrDequeue, 2, 0x5003, 3), limits()).why, nullptr);
    EXPECT_NE(check_command_trb(g, command(TrbType::SetTrDequeue, 2, 0x5001, 0), limits()).why, nullptr);
}

TEST(XhciCheck, UnmediatedCommandsAreRefused) {
    FakeGuest g;
    for (TrbType t : {TrbType::ForceEvent, TrbType::ForceHeader, TrbType::GetPortBandwidth,
                      TrbType::GetExtendedProperty, TrbType::SetExtendedProperty, TrbType::Normal, TrbType::Link,
                      TrbType::TransferEvent})
        EXPECT_NE(check_command_trb(g, command(t, 1, 0x4000), limits()).why, nullptr) << trb_type_name(t);
}

TEST(XhciCheck, PlainCommandsPass) {
    FakeGuest g;
    for (TrbType t : {TrbType::EnableSlot, TrbType::NoOpCommand, TrbType::NegotiateBandwidth})
        EXPECT_EQ(check_command_trb(g, command(t, 0), limits()).why, nullptr);
    EXPECT_EQ(check_command_trb(g, command(TrbType::ResetEndpoint, 1, 0, 1), limits()).why, nullptr);
    EXPECT_EQ(check_command_trb(g, command(TrbType::StopEndpoint, 1, 0, 5), limits()).why, nullptr);
    EXPECT_EQ(check_command_trb(g, command(TrbType::DisableSlot, 1), limits()).why, nullptr);
    EXPECT_NE(check_command_trb(g, command(TrbType::DisableSlot, 0), limits()).why, nullptr);
}
