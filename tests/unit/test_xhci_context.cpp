// Context layout (CSZ 32 and 64 bytes) and the input-context check the mediator runs on its
// copy before the controller may read it.
#include <gtest/gtest.h>

#include "drivers/usb/xhci_context.hpp"
#include "tests/unit/test_xhci_fake.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

namespace {

struct Input {
    explicit Input(bool csz64) : layout(csz64) {}
    ContextLayout layout;
    alignas(64) u8 bytes[33 * 64]{};
    void add(u32 flags) { reinterpret_cast<InputControlContext*>(bytes)->add = flags; }
    void drop(u32 flags) { reinterpret_cast<InputControlContext*>(bytes)->drop = flags; }
    void ring(u32 dci, u64 deq, EpType type = EpType::BulkIn) {
        EpContext& ep = input_ep(bytes, layout, dci);
        ep.dw[1] = u32{static_cast<u8>(type)} << 3 | 512u << 16;
        ep.set_dequeue(deq, true);
    }
    char const* check(FakeGuest const& g, InputUse use, u32* adds) {
        return check_input_context(g, bytes, layout, use, 1, adds);
    }
};

}  // namespace

TEST(XhciContext, LayoutStridesFollowCsz) {
    ContextLayout small(false), big(true);
    EXPECT_EQ(small.device_bytes(), 1024u);
    EXPECT_EQ(big.device_bytes(), 2048u);
    EXPECT_EQ(small.input_offset(1), 64u);
    EXPECT_EQ(big.input_offset(1), 128u);
    EXPECT_EQ(big.device_offset(31), 31u * 64);
}

TEST(XhciContext, FieldsAreReadFromTheirDwords) {
    EpContext ep{};
    ep.dw[0] = 3 | 5u << 10;
    ep.dw[1] = 6u << 3 | 1024u << 16;
    ep.set_dequeue(0x12345670, true);
    EXPECT_EQ(ep.state(), 3);
    EXPECT_EQ(ep.max_pstreams(), 5);
    EXPECT_EQ(ep.type(), EpType::BulkIn);
    EXPECT_EQ(ep.max_packet(), 1024);
    EXPECT_EQ(ep.dequeue(), Gpa{0x12345670});
    EXPECT_TRUE(ep.dcs());
    SlotContext s{};
    s.dw[0] = 3u << 27;
    s.dw[1] = 2u << 16;
    s.dw[3] = 5 | 2u << 27;
    EXPECT_EQ(s.context_entries(), 3);
    EXPECT_EQ(s.root_port(), 2);
    EXPECT_EQ(s.address(), 5);
    EXPECT_EQ(s.state(), 2);
}

TEST(XhciContext, AddressDeviceWithEndpointZeroInGuestMemoryIsAccepted) {
    for (bool csz : {false, true}) {
        FakeGuest g;
        Input in(csz);
        in.add(3);
        in.ring(1, 0x3000, EpType::Control);
        u32 adds = 0;
        EXPECT_EQ(in.check(g, InputUse::AddressDevice, &adds), nullptr) << csz;
        EXPECT_EQ(adds, 3u);
    }
}

TEST(XhciContext, ATransferRingInTheMonitorIsRefused) {
    for (bool csz : {false, true}) {
        FakeGuest g;
        Input in(csz);
        in.add(1u << 3 | 1u << 4);
        in.ring(3, 0x3000);
        in.ring(4, kHiddenBase + 0x40);
        u32 adds = 0;
        EXPECT_NE(in.check(g, InputUse::ConfigureEndpoint, &adds), nullptr) << csz;
    }
}

TEST(XhciContext, StreamsAndMisalignedRingsAreRefused) {
    FakeGuest g;
    Input in(false);
    in.add(1u << 3);
    in.ring(3, 0x3000);
    input_ep(in.bytes, in.layout, 3).dw[0] |= 2u << 10;
    u32 adds = 0;
    EXPECT_NE(in.check(g, InputUse::ConfigureEndpoint, &adds), nullptr);
    Input m(false);
    m.add(1u << 3);
    m.ring(3, 0x3000);
    input_ep(m.bytes, m.layout, 3).dw[2] |= 0x4;
    EXPECT_NE(m.check(g, InputUse::ConfigureEndpoint, &adds), nullptr);
}

TEST(XhciContext, EndpointsNotAddedAreNotLookedAt) {
    FakeGuest g;
    Input in(true);
    in.add(1u << 5);
    in.ring(5, 0x3000);
    in.ring(6, kHiddenBase);  // garbage in an endpoint the command does not add
    u32 adds = 0;
    EXPECT_EQ(in.check(g, InputUse::ConfigureEndpoint, &adds), nullptr);
}

TEST(XhciContext, AddFlagsMustFitTheCommand) {
    FakeGuest g;
    u32 adds = 0;
    Input a(false);
    a.add(1u << 0 | 1u << 1 | 1u << 2);
    a.ring(1, 0x3000, EpType::Control);
    a.ring(2, 0x4000);
    EXPECT_NE(a.check(g, InputUse::AddressDevice, &adds), nullptr);
    EXPECT_NE(a.check(g, InputUse::EvaluateContext, &adds), nullptr);
    Input c(false);
    c.add(1u << 1);
    c.ring(1, 0x3000, EpType::Control);
    EXPECT_NE(c.check(g, InputUse::ConfigureEndpoint, &adds), nullptr);
    Input d(false);
    d.drop(1u << 1);
    EXPECT_NE(d.check(g, InputUse::ConfigureEndpoint, &adds), nullptr);
}

TEST(XhciContext, EvaluateContextReadsNoDequeuePointer) {
    FakeGuest g;
    Input in(false);
    in.add(1u << 1);
    in.ring(1, kHiddenBase, EpType::Control);  // ignored by the controller for Evaluate Context
    u32 adds = 0;
    EXPECT_EQ(in.check(g, InputUse::EvaluateContext, &adds), nullptr);
}

TEST(XhciContext, ASlotContextTargetingAnUnmediatedInterrupterIsRefused) {
    FakeGuest g;
    Input in(false);
    in.add(3);
    in.ring(1, 0x3000, EpType::Control);
    input_slot(in.bytes, in.layout).dw[2] = 1u << 22;
    u32 adds = 0;
    EXPECT_NE(in.check(g, InputUse::AddressDevice, &adds), nullptr);
}
