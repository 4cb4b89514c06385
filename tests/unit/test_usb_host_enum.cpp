// Finding the CCID reader on root ports and behind hubs (drivers/usb/host/usb_enum.*), against
// a fake host whose devices answer the standard and hub class requests (USB 2.0 9.4, 11.24).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "drivers/usb/host/usb_enum.hpp"
#include "drivers/usb/host/xhci_host_slot.hpp"

using namespace tv;
using namespace tv::usb::host;

namespace {

using Bytes = std::vector<u8>;

// QEMU 7.2's usb-ccid class descriptor (hw/usb/dev-smartcard-reader.c), as in test_ccid.cpp.
Bytes ccid_class() {
    return {0x36, 0x21, 0x10, 0x01, 0x00, 0x07, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x0f, 0x00, 0x00,
            0x00, 0x00, 0x01, 0x00, 0x00, 0x80, 0x25, 0x00, 0x00, 0x00, 0xc2, 0x01, 0x00, 0x00,
            0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x04,
            0x01, 0x00, 0x12, 0x00, 0x01, 0x00, 0xff, 0xff, 0x00, 0x00, 0x01, 0x01};
}

Bytes config_with(u8 iface_class, Bytes const& extra) {
    Bytes d = {9, 2, 0, 0, 1, 1, 0, 0xe0, 50, 9, 4, 0, 0, 2, iface_class, 0, 0, 0};
    d.insert(d.end(), extra.begin(), extra.end());
    d[2] = static_cast<u8>(d.size());
    d[3] = static_cast<u8>(d.size() >> 8);
    return d;
}

struct FakeDev {
    UsbSpeed speed{UsbSpeed::Full};
    u8 dev_class{0};
    Bytes config;
    // a hub's downstream ports (1-based index - 1)
    std::vector<std::shared_ptr<FakeDev>> down;
    std::vector<u16> status, change;
    bool reset_sticks{false};  // its ports never finish a reset
    std::vector<u8> resetting;  // GetPortStatus polls left before a port's reset ends
    u8 configured{0};

    static std::shared_ptr<FakeDev> reader() {
        Bytes eps = ccid_class();
        eps.insert(eps.end(), {7, 5, 0x81, 2, 64, 0, 0, 7, 5, 0x02, 2, 64, 0, 0});
        auto d = std::make_shared<FakeDev>();
        d->config = config_with(0x0b, eps);
        return d;
    }
    static std::shared_ptr<FakeDev> keyboard() {
        auto d = std::make_shared<FakeDev>();
        d->config = config_with(0x03, {7, 5, 0x81, 3, 8, 0, 10});
        return d;
    }
    static std::shared_ptr<FakeDev> hub(UsbSpeed s, u8 ports) {
        auto d = std::make_shared<FakeDev>();
        d->speed = s;
        d->dev_class = kClassHub;
        d->config = config_with(kClassHub, {7, 5, 0x81, 3, 1, 0, 12});
        d->down.resize(ports);
        d->status.assign(ports, 0);
        d->change.assign(ports, 0);
        d->resetting.assign(ports, 0);
        return d;
    }
    void plug(u8 port, std::shared_ptr<FakeDev> child) { down.at(port - 1) = std::move(child); }
};

class FakeHost final : public UsbHost {
  public:
    std::vector<std::shared_ptr<FakeDev>> root;
    std::map<u8, FakeDev*> slots;
    std::vector<UsbDevice> attached;  // every device addressed, in order
    std::vector<std::string> notes;
    std::vector<std::pair<u8, u8>> hubs_set;  // slot, ports
    u8 bulk_slot{0};
    u64 delayed_us{0};

    char const* name() const override { return "fake"; }
    u32 ports() const override { return static_cast<u32>(root.size()); }
    bool attach(u8 port, UsbDevice& dev) override {
        dev = UsbDevice{};
        FakeDev* d = root.at(port - 1).get();
        if (d == nullptr)
            return false;
        dev.port = port;
        dev.speed = d->speed;
        return address(dev, d);
    }
    bool attach_child(UsbDevice& dev) override {
        FakeDev* d = root.at(dev.port - 1).get();
        for (u8 t = 0; t < dev.depth; ++t) {
            u8 const p = (dev.route >> (4 * t)) & 0xf;
            if (d == nullptr || p == 0 || p > d->down.size())
                return false;
            // the hub port must be powered and enabled (reset) for the device to answer
            if ((d->status[p - 1] & (1u << 8)) == 0 || (d->status[p - 1] & kPortStatEnable) == 0)
                return false;
            d = d->down[p - 1].get();
        }
        if (d == nullptr)
            return false;
        return address(dev, d);
    }
    bool set_hub(UsbDevice const& dev, u8 n, bool) override {
        hubs_set.emplace_back(dev.slot, n);
        return true;
    }
    bool control(UsbDevice const& dev, u8 const (&s)[8], u8* data, u32 len, u32& got) override {
        got = 0;
        FakeDev* d = slots.at(dev.slot);
        u16 const value = static_cast<u16>(s[2] | s[3] << 8), index = static_cast<u16>(s[4] | s[5] << 8);
        Bytes answer;
        if (s[0] == 0x80 && s[1] == 6 && s[3] == 1) {
            answer = {18, 1, 0, 2, d->dev_class, 0, 0, 64, 0xe6, 0x08, 0x33, 0x44, 0, 1, 1, 2, 3, 1};
        } else if (s[0] == 0x80 && s[1] == 6 && s[3] == 2) {
            answer = d->config;
        } else if (s[0] == 0 && s[1] == 9) {
            d->configured = static_cast<u8>(value);
            return true;
        } else if (d->dev_class == kClassHub && s[0] == 0xa0 && s[1] == kHubGetDescriptor) {
            answer = {9, 0x29, static_cast<u8>(d->down.size()), 0, 0, 50, 0, 0, 0xff};
        } else if (d->dev_class == kClassHub && (s[0] & 0x1f) == 3) {  // port requests
            if (index == 0 || index > d->down.size())
                return false;
            u16& st = d->status[index - 1];
            u16& ch = d->change[index - 1];
            bool const connected = d->down[index - 1] != nullptr && (st & (1u << 8));
            if (s[1] == kHubGetStatus) {
                if (d->resetting[index - 1] != 0 && --d->resetting[index - 1] == 0)
                    end_reset(*d, index);
                u16 const v = static_cast<u16>(st | (connected ? kPortStatConnection : 0));
                answer = {static_cast<u8>(v), static_cast<u8>(v >> 8), static_cast<u8>(ch), static_cast<u8>(ch >> 8)};
            } else if (s[1] == kHubSetFeature && value == kPortPower) {
                st |= 1u << 8;
            } else if (s[1] == kHubSetFeature && value == kPortReset) {
                st |= 1u << 4;  // PORT_RESET: in progress, a few status reads long
                if (connected && !d->reset_sticks)
                    d->resetting[index - 1] = 3;
            } else if (s[1] == kHubClearFeature && value == kCPortReset) {
                ch &= static_cast<u16>(~kPortChangeReset);
            }
            if (answer.empty())
                return true;
        } else {
            return false;
        }
        got = static_cast<u32>(answer.size() < len ? answer.size() : len);
        memcpy(data, answer.data(), got);
        return true;
    }
    bool configure_bulk(UsbDevice const& dev, u8, u16, u8, u16) override {
        bulk_slot = dev.slot;
        return true;
    }
    bool bulk(UsbDevice const&, u8, u8*, u32, u32&, u64) override { return false; }
    void delay_us(u32 us) override { delayed_us += us; }
    void note(char const* line) override { notes.emplace_back(line); }

  private:
    static void end_reset(FakeDev& d, u16 port) {
        UsbSpeed const cs = d.down[port - 1]->speed;
        u16& st = d.status[port - 1];
        st = static_cast<u16>((st & ~(kPortStatLowSpeed | kPortStatHighSpeed | (1u << 4))) | kPortStatEnable |
                              (cs == UsbSpeed::Low ? kPortStatLowSpeed : 0) | (cs == UsbSpeed::High ? kPortStatHighSpeed : 0));
        d.change[port - 1] |= kPortChangeReset;
    }
    bool address(UsbDevice& dev, FakeDev* d) {
        dev.slot = static_cast<u8>(slots.size() + 1);
        slots[dev.slot] = d;
        attached.push_back(dev);
        return true;
    }
};

std::string path_of(UsbDevice const& d) {
    char buf[24];
    port_path(d, buf, sizeof buf);
    return buf;
}

}  // namespace

TEST(UsbHostEnum, FindsTheReaderOnARootPortAfterAnotherDevice) {
    FakeHost h;
    h.root = {nullptr, FakeDev::keyboard(), FakeDev::reader()};
    static FoundReader f;
    ASSERT_TRUE(find_reader(h, f));
    EXPECT_EQ(f.dev.port, 3);
    EXPECT_EQ(f.dev.depth, 0);
    EXPECT_EQ(f.ccid.bulk_in, 0x81);
    EXPECT_EQ(f.ccid.bulk_out, 0x02);
    EXPECT_EQ(h.bulk_slot, f.dev.slot);
    EXPECT_EQ(h.slots.at(f.dev.slot)->configured, 1);
    EXPECT_TRUE(h.hubs_set.empty());
    ASSERT_EQ(h.notes.size(), 1u);
    EXPECT_NE(h.notes[0].find("port 2: no smart-card"), std::string::npos) << h.notes[0];
}

// QEMU's topology: usb-hub (full speed) on root port 1, usb-ccid on its port 1.
TEST(UsbHostEnum, FindsTheReaderBehindAFullSpeedHubWithoutATranslator) {
    FakeHost h;
    auto hub = FakeDev::hub(UsbSpeed::Full, 8);
    hub->plug(1, FakeDev::reader());
    h.root = {hub};
    static FoundReader f;
    ASSERT_TRUE(find_reader(h, f));
    EXPECT_EQ(f.dev.port, 1);
    EXPECT_EQ(f.dev.depth, 1);
    EXPECT_EQ(f.dev.route, 1u);
    EXPECT_EQ(f.dev.tt_hub, 0) << "a full-speed hub has no transaction translator";
    EXPECT_EQ(path_of(f.dev), "1.1");
    EXPECT_EQ(hub->configured, 1) << "the hub is configured before its ports are used";
    ASSERT_EQ(h.hubs_set.size(), 1u);
    EXPECT_EQ(h.hubs_set[0], std::make_pair(u8{1}, u8{8}));
    for (u16 st : hub->status)
        EXPECT_TRUE(st & (1u << 8)) << "every hub port is powered";
    EXPECT_GE(h.delayed_us, 100'000u) << "the power-on and debounce wait";
}

TEST(UsbHostEnum, AFullSpeedReaderBehindAHighSpeedHubGetsItsTranslator) {
    FakeHost h;
    auto hub = FakeDev::hub(UsbSpeed::High, 4);
    hub->plug(3, FakeDev::reader());
    h.root = {nullptr, hub};
    static FoundReader f;
    ASSERT_TRUE(find_reader(h, f));
    EXPECT_EQ(f.dev.speed, UsbSpeed::Full);
    EXPECT_EQ(f.dev.tt_hub, h.attached[0].slot);
    EXPECT_EQ(f.dev.tt_port, 3);
    EXPECT_EQ(path_of(f.dev), "2.3");
}

TEST(UsbHostEnum, TwoHubsDeepTheRouteStringHasATierEachAndTheTranslatorIsTheHighSpeedHubs) {
    FakeHost h;
    auto outer = FakeDev::hub(UsbSpeed::High, 4);
    auto inner = FakeDev::hub(UsbSpeed::Full, 4);
    inner->plug(4, FakeDev::reader());
    outer->plug(2, FakeDev::keyboard());
    outer->plug(3, inner);
    h.root = {outer};
    static FoundReader f;
    ASSERT_TRUE(find_reader(h, f));
    EXPECT_EQ(f.dev.depth, 2);
    EXPECT_EQ(f.dev.route, 0x43u);
    EXPECT_EQ(path_of(f.dev), "1.3.4");
    EXPECT_EQ(f.dev.tt_hub, h.attached[0].slot) << "the full-speed hub's translator is above it";
    EXPECT_EQ(f.dev.tt_port, 3);
}

TEST(UsbHostEnum, APortThatNeverLeavesResetIsSkippedWithALogLine) {
    FakeHost h;
    auto stuck = FakeDev::hub(UsbSpeed::Full, 2);
    stuck->plug(1, FakeDev::reader());
    stuck->reset_sticks = true;
    h.root = {stuck, FakeDev::reader()};
    static FoundReader f;
    ASSERT_TRUE(find_reader(h, f));
    EXPECT_EQ(f.dev.port, 2);
    bool logged = false;
    for (auto const& n : h.notes)
        logged |= n.find("port 1.1: the hub port does not come out of reset") != std::string::npos;
    EXPECT_TRUE(logged);
}

TEST(UsbHostEnum, HubsDeeperThanTheLimitAreNotFollowed) {
    FakeHost h;
    auto top = FakeDev::hub(UsbSpeed::Full, 1);
    auto at = top;
    for (u8 i = 1; i < kMaxHubDepth + 1; ++i) {
        auto next = FakeDev::hub(UsbSpeed::Full, 1);
        at->plug(1, next);
        at = next;
    }
    at->plug(1, FakeDev::reader());
    h.root = {top};
    static FoundReader f;
    EXPECT_FALSE(find_reader(h, f));
    EXPECT_EQ(h.hubs_set.size(), kMaxHubDepth);
}

TEST(UsbHostEnum, NoReaderAnywhere) {
    FakeHost h;
    auto hub = FakeDev::hub(UsbSpeed::Full, 2);
    hub->plug(2, FakeDev::keyboard());
    h.root = {hub, nullptr};
    static FoundReader f;
    EXPECT_FALSE(find_reader(h, f));
    EXPECT_EQ(h.attached.size(), 2u);
}

TEST(UsbHostEnum, HubPortSpeedAndDescriptor) {
    EXPECT_EQ(hub_port_speed(kPortStatLowSpeed | kPortStatEnable, UsbSpeed::High), UsbSpeed::Low);
    EXPECT_EQ(hub_port_speed(kPortStatHighSpeed, UsbSpeed::High), UsbSpeed::High);
    EXPECT_EQ(hub_port_speed(kPortStatHighSpeed, UsbSpeed::Full), UsbSpeed::Full);
    EXPECT_EQ(hub_port_speed(0, UsbSpeed::High), UsbSpeed::Full);
    HubDescriptor hd;
    u8 const qemu[9] = {9, 0x29, 8, 0x0a, 0, 0x32, 0, 0, 0xff};
    ASSERT_TRUE(parse_hub_descriptor(qemu, 9, hd));
    EXPECT_EQ(hd.ports, 8);
    EXPECT_EQ(hd.power_on_ms, 100);
    EXPECT_FALSE(parse_hub_descriptor(qemu, 6, hd)) << "short";
    u8 wrong[9] = {9, 0x02, 8, 0, 0, 0, 0, 0, 0};
    EXPECT_FALSE(parse_hub_descriptor(wrong, 9, hd)) << "not a hub descriptor";
    u8 none[9] = {9, 0x29, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_FALSE(parse_hub_descriptor(none, 9, hd)) << "no ports";
    u8 many[9] = {9, 0x29, 40, 0, 0, 200, 0, 0, 0};
    ASSERT_TRUE(parse_hub_descriptor(many, 9, hd));
    EXPECT_EQ(hd.ports, 15) << "the route string has 4 bits a tier";
    EXPECT_EQ(hd.power_on_ms, 255);
}

// What the xHCI driver puts in the slot context of the device child_of() described.
TEST(UsbHostEnum, TheXhciSlotContextCarriesRouteSpeedRootPortAndTranslator) {
    UsbDevice hub;
    hub.port = 2;
    hub.speed = UsbSpeed::High;
    hub.slot = 3;
    UsbDevice const mid = child_of(hub, 3, UsbSpeed::Full);
    UsbDevice const dev = child_of(mid, 4, UsbSpeed::Full);
    usb::SlotContext sl;
    sl.dw[5] = 0xdead;
    xhci_fill_slot(sl, dev, 5);
    EXPECT_EQ(sl.dw[0] & 0xfffff, 0x43u) << "route string: port 3 at tier 1, port 4 at tier 2";
    EXPECT_EQ((sl.dw[0] >> 20) & 0xf, 1u) << "full speed";
    EXPECT_EQ(sl.context_entries(), 5);
    EXPECT_EQ(sl.root_port(), 2);
    EXPECT_EQ(sl.dw[2] & 0xff, 3u) << "TT hub slot: the high-speed hub";
    EXPECT_EQ((sl.dw[2] >> 8) & 0xff, 3u) << "TT port: the port the full-speed subtree hangs on";
    EXPECT_EQ(sl.dw[5], 0u) << "the rest of the context cleared";
    usb::SlotContext h;
    xhci_fill_slot(h, hub, 1);
    EXPECT_EQ(h.dw[2], 0u) << "a high-speed device needs no translator";
    xhci_mark_hub(h, 4, false);
    EXPECT_NE(h.dw[0] & (1u << 26), 0u) << "Hub";
    EXPECT_EQ(h.dw[0] & (1u << 25), 0u) << "single TT";
    EXPECT_EQ(h.dw[1] >> 24, 4u) << "Number of Ports";
    EXPECT_EQ(h.root_port(), 2) << "kept";
}
