// The frame switch and its default policy, against fake sides: where each frame goes.
#include <gtest/gtest.h>

#include <string.h>

#include <vector>

#include "switch/frame_switch.hpp"
#include "switch/mac_policy.hpp"

namespace tv::sw {
namespace {

constexpr MacAddr kMon{{0x52, 0x54, 0x00, 0xAA, 0xBB, 0x01}};
constexpr MacAddr kGuest{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
constexpr MacAddr kPeer{{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};
constexpr MacAddr kBcast{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};

std::vector<u8> eth(MacAddr dst, MacAddr src, u8 fill, size_t len = 60) {
    std::vector<u8> f(len, fill);
    memcpy(f.data(), dst.b, 6);
    memcpy(f.data() + 6, src.b, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    return f;
}
Frame fr(std::vector<u8> const& v) { return Frame{v.data(), static_cast<u32>(v.size())}; }

struct Sides final : WireSide, GuestSide {
    Status transmit(Frame f) override {
        wire.emplace_back(f.data, f.data + f.len);
        return Status::Ok;
    }
    void poll() override { ++polls; }
    bool link_up() const override { return true; }
    u32 mtu() const override { return 1500; }
    bool receive(Frame f, void const* meta) override {
        guest.emplace_back(f.data, f.data + f.len);
        metas.push_back(meta);
        return !guest_full;
    }
    std::vector<std::vector<u8>> wire, guest;
    std::vector<void const*> metas;
    int polls{0};
    bool guest_full{false};
};

struct Monitor {
    std::vector<std::vector<u8>> got;
    static void rx(void* ctx, u8 const* f, size_t len) { static_cast<Monitor*>(ctx)->got.emplace_back(f, f + len); }
};

class Switch : public ::testing::Test {
  protected:
    void SetUp() override {
        sw.init(&policy, &sides, &sides, kMon);
        ASSERT_EQ(sw.add_receiver(0, Monitor::rx, &mon), Status::Ok);
    }
    MacPolicy policy{kMon};
    Sides sides;
    Monitor mon;
    FrameSwitch sw;
};

TEST_F(Switch, WireFramesGoWhereTheirDestinationSays) {
    int const meta = 7;
    sw.from_wire(fr(eth(kMon, kPeer, 1)), &meta);
    sw.from_wire(fr(eth(kGuest, kPeer, 2)), &meta);
    sw.from_wire(fr(eth(kBcast, kPeer, 3)), &meta);
    ASSERT_EQ(mon.got.size(), 2u);
    EXPECT_EQ(mon.got[0][14], 1);
    EXPECT_EQ(mon.got[1][14], 3);
    ASSERT_EQ(sides.guest.size(), 2u);
    EXPECT_EQ(sides.guest[0][14], 2);
    EXPECT_EQ(sides.guest[1][14], 3);
    EXPECT_EQ(sides.metas[0], &meta) << "the device's receive information reaches the guest side";
    EXPECT_TRUE(sides.wire.empty());
}

TEST_F(Switch, TheMonitorsOwnFramesFromTheWireGoNowhere) {
    sw.from_wire(fr(eth(kBcast, kMon, 1)), nullptr);
    sw.from_wire(fr(eth(kGuest, kMon, 2)), nullptr);
    EXPECT_TRUE(mon.got.empty());
    EXPECT_TRUE(sides.guest.empty());
    EXPECT_EQ(sw.counters().wire_own_looped, 2u);
}

TEST_F(Switch, TheGuestsFramesToTheMonitorAreCopiedToIt) {
    auto const to_mon = eth(kMon, kGuest, 1), to_peer = eth(kPeer, kGuest, 2), arp = eth(kBcast, kGuest, 3);
    EXPECT_TRUE(sw.guest_copy_wanted(Frame{to_mon.data(), 14}));
    EXPECT_FALSE(sw.guest_copy_wanted(Frame{to_peer.data(), 14}));
    EXPECT_TRUE(sw.guest_copy_wanted(Frame{arp.data(), 14})) << "the guest's ARP for the monitor";
    sw.from_guest(fr(to_mon));
    ASSERT_EQ(mon.got.size(), 1u);
    EXPECT_EQ(mon.got[0], to_mon);
    EXPECT_TRUE(sides.wire.empty()) << "zero-copy: the device sends the guest's frame itself";
}

TEST_F(Switch, TheMonitorReachesTheGuestOnceItsMacIsKnown) {
    auto const reply = eth(kGuest, kMon, 9);
    ASSERT_EQ(sw.send(reply.data(), reply.size()), Status::Ok);
    EXPECT_EQ(sides.wire.size(), 1u) << "an unknown MAC is on the wire";
    EXPECT_TRUE(sides.guest.empty());
    auto const hello = eth(kPeer, kGuest, 1);
    (void)sw.guest_copy_wanted(Frame{hello.data(), 14});  // the switch sees the guest's header
    ASSERT_EQ(sw.send(reply.data(), reply.size()), Status::Ok);
    ASSERT_EQ(sides.guest.size(), 1u);
    EXPECT_EQ(sides.guest[0], reply);
    EXPECT_EQ(sides.metas[0], nullptr);
    EXPECT_EQ(sides.wire.size(), 1u) << "not on the wire as well";
    auto const bcast = eth(kBcast, kMon, 2);
    ASSERT_EQ(sw.send(bcast.data(), bcast.size()), Status::Ok);
    EXPECT_EQ(sides.guest.size(), 2u);
    EXPECT_EQ(sides.wire.size(), 2u) << "broadcasts go to both";
}

TEST_F(Switch, SendRefusesMalformedFrames) {
    std::vector<u8> f(1515, 0);
    EXPECT_EQ(sw.send(f.data(), 13), Status::Invalid);
    EXPECT_EQ(sw.send(f.data(), f.size()), Status::Invalid);
    EXPECT_TRUE(sides.wire.empty());
}

// A copy-out policy (the shape of a VPN): sees every guest frame whole, decides, and makes
// frames of its own.
struct CopyOut final : ForwardingPolicy {
    bool copy_out() const override { return true; }
    Dest from_wire(Frame) override { return Dest::None; }
    Dest from_guest(Frame f) override {
        seen.emplace_back(f.data, f.data + f.len);
        return verdict;
    }
    Dest from_monitor(Frame) override { return Dest::Wire; }
    std::vector<std::vector<u8>> seen;
    Dest verdict{Dest::None};
};

TEST_F(Switch, CopyOutHandsEveryGuestFrameToThePolicyBeforeTheWire) {
    CopyOut vpn;
    sw.set_policy(&vpn);
    EXPECT_TRUE(sw.copy_out());
    auto const f = eth(kPeer, kGuest, 5);
    EXPECT_FALSE(sw.guest_copy_wanted(Frame{f.data(), 14})) << "copy-out copies everything anyway";
    sw.from_guest(fr(f));
    ASSERT_EQ(vpn.seen.size(), 1u);
    EXPECT_EQ(vpn.seen[0], f);
    EXPECT_TRUE(sides.wire.empty()) << "dropped by the policy: nothing on the wire";
    EXPECT_EQ(sw.counters().guest_dropped, 1u);
    vpn.verdict = Dest::Wire;
    sw.from_guest(fr(f));
    ASSERT_EQ(sides.wire.size(), 1u);
    auto const made = eth(kGuest, kPeer, 6);
    EXPECT_TRUE(sw.inject_to_guest(fr(made)));
    ASSERT_EQ(sides.guest.size(), 1u);
    EXPECT_EQ(sides.guest[0], made);
    EXPECT_EQ(sw.inject_to_wire(fr(made)), Status::Ok);
    EXPECT_EQ(sides.wire.size(), 2u);
}

TEST_F(Switch, AFullGuestRingIsCounted) {
    sides.guest_full = true;
    sw.from_wire(fr(eth(kGuest, kPeer, 1)), nullptr);
    EXPECT_EQ(sw.counters().guest_full, 1u);
    EXPECT_EQ(sw.counters().wire_to_guest, 0u);
}

}  // namespace
}  // namespace tv::sw
