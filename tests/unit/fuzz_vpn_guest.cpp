// libFuzzer: a hostile guest (and a hostile tunnel) against the VPN's guest-side policy on a
// real frame switch. The input is a script: guest frames, packets from the tunnel, frames
// from the wire, the tunnel going up and down. Invariants: nothing the guest sends reaches
// the wire; the tunnel gets only well-formed IPv4 packets that fit kInnerMtu, and only while
// it is up; every frame the guest gets comes from the virtual gateway and fits a frame.
#include <string.h>

#include "switch/frame_switch.hpp"
#include "tests/unit/fuzz_input.hpp"
#include "vpn/guest/inet.hpp"
#include "vpn/guest/vpn_policy.hpp"

using namespace tv;
using namespace tv::vpn;

namespace {

constexpr nic::MacAddr kMon{{0x52, 0x54, 0x00, 0xAA, 0xBB, 0x01}};

struct Tun final : Tunnel {
    bool up() const override { return is_up; }
    Status send_inner(u8 const* p, u32 len) override {
        check(is_up, "a packet into a tunnel that is down");
        check(len <= kInnerMtu, "a tunnel packet larger than the inner MTU");
        inet::Ipv4View v;
        check(inet::ipv4_parse(p, len, &v) && v.total == len, "a malformed packet into the tunnel");
        return refuse ? Status::NoMemory : Status::Ok;
    }
    bool hold(u8 const* p, u32 len) override {  // only what could have gone in, only while down
        check(!is_up, "a packet offered to keep while the tunnel is up");
        check(len <= kInnerMtu, "a packet offered to keep larger than the inner MTU");
        inet::Ipv4View v;
        check(inet::ipv4_parse(p, len, &v) && v.total == len, "a malformed packet offered to keep");
        return holds;
    }
    bool is_up{false}, refuse{false}, holds{false};
};

struct Sides final : sw::WireSide, sw::GuestSide {
    Status transmit(sw::Frame) override {
        ++wire;
        return Status::Ok;
    }
    void poll() override {}
    bool link_up() const override { return true; }
    u32 mtu() const override { return 1500; }
    bool receive(sw::Frame f, void const*) override {
        check(f.len >= 14 && f.len <= kMaxFrame, "a frame for the guest of a bad length");
        check(memcmp(f.data + 6, kGatewayMac.b, 6) == 0, "a frame for the guest not from the gateway");
        return !full;
    }
    u32 wire{0};
    bool full{false};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    Input in{data, size};
    Tun tun;
    Sides sides;
    sw::FrameSwitch sw;
    VpnGuestPolicy policy;
    GuestNet net{};
    net.address = 0x0A0A0005;
    net.prefix = static_cast<u8>(1 + in.take<u8>() % 30);
    net.dns_count = 1;
    net.dns[0] = 0x0A0A0035;
    net.lease_seconds = 3600;
    if (!policy.init(net, &tun, &sw, kMon)) return 0;
    sw.init(&policy, &sides, &sides, kMon);
    u8 buf[1600];
    for (int step = 0; step < 64 && in.n; ++step) {
        u8 const op = in.take<u8>();
        u32 len = in.take<u16>() % (kMaxFrame + 1);
        if (len > in.n) len = static_cast<u32>(in.n);
        memcpy(buf, in.p, len);
        in.p += len;
        in.n -= len;
        switch (op % 5) {
            case 0: sw.from_guest(sw::Frame{buf, len}); break;
            case 1: policy.from_tunnel(buf, len); break;
            case 2: sw.from_wire(sw::Frame{buf, len}, nullptr); break;
            case 3: tun.is_up = !tun.is_up; break;
            default:
                tun.refuse = (op & 8) != 0;
                tun.holds = (op & 32) != 0;
                sides.full = (op & 16) != 0;
                break;
        }
        check(sides.wire == 0, "a frame reached the wire");
    }
    return 0;
}
