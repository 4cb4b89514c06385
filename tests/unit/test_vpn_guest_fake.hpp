// What the VPN guest-side tests share: a fake tunnel, fake NIC sides around a real frame
// switch, and builders for the guest's frames. Checksums are computed here independently of
// vpn/guest/inet.
#pragma once

#include <gtest/gtest.h>

#include <string.h>

#include <vector>

#include "switch/frame_switch.hpp"
#include "vpn/guest/vpn_policy.hpp"

namespace tv::vpn::test {

using Bytes = std::vector<u8>;

constexpr MacAddr kMon{{0x52, 0x54, 0x00, 0xAA, 0xBB, 0x01}};
constexpr MacAddr kGuest{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
constexpr MacAddr kBcast{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};
constexpr u32 kInner = 0x0A0A0005;    // 10.10.0.5/24
constexpr u32 kGateway = 0x0A0A0001;  // what gateway_for gives it
constexpr u32 kDns = 0x0A0A0035;
constexpr u32 kFar = 0xC0A86402;      // 192.168.100.2, beyond the tunnel

struct FakeTunnel final : Tunnel {
    bool up() const override { return is_up; }
    Status send_inner(u8 const* p, u32 len) override {
        if (refuse) return Status::NoMemory;
        sent.emplace_back(p, p + len);
        return Status::Ok;
    }
    bool hold(u8 const* p, u32 len) override {
        if (!holds) return false;
        held.emplace_back(p, p + len);
        return true;
    }
    bool is_up{true};
    bool refuse{false};
    bool holds{false};  // the tunnel is coming up and keeps what it is offered
    std::vector<Bytes> sent, held;
};

struct Sides final : sw::WireSide, sw::GuestSide {
    Status transmit(sw::Frame f) override {
        wire.emplace_back(f.data, f.data + f.len);
        return Status::Ok;
    }
    void poll() override {}
    bool link_up() const override { return true; }
    u32 mtu() const override { return 1500; }
    bool receive(sw::Frame f, void const*) override {
        guest.emplace_back(f.data, f.data + f.len);
        return !guest_full;
    }
    std::vector<Bytes> wire, guest;
    bool guest_full{false};
};

inline u16 rd16(u8 const* p) { return static_cast<u16>(p[0] << 8 | p[1]); }
inline u32 rd32(u8 const* p) { return u32{rd16(p)} << 16 | rd16(p + 2); }
inline void wr16(u8* p, u32 v) {
    p[0] = static_cast<u8>(v >> 8);
    p[1] = static_cast<u8>(v);
}
inline void wr32(u8* p, u32 v) {
    wr16(p, v >> 16);
    wr16(p + 2, v & 0xFFFF);
}

// RFC 1071, written out again so that the code under test is not its own judge.
inline u16 csum(u8 const* p, size_t n, u32 s = 0) {
    for (size_t i = 0; i < n; ++i) s += (i & 1) ? p[i] : u32{p[i]} << 8;
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<u16>(~s);
}
// The TCP or UDP checksum of the IPv4 packet `ip` verifies (0 when summed with the field).
inline bool l4_checksum_ok(u8 const* ip) {
    u32 const hl = (ip[0] & 0xFu) * 4u, total = rd16(ip + 2), len = total - hl;
    u32 pseudo = rd16(ip + 12) + rd16(ip + 14) + rd16(ip + 16) + rd16(ip + 18) + ip[9] + len;
    return csum(ip + hl, len, pseudo) == 0;
}
inline bool ip_checksum_ok(u8 const* ip) { return csum(ip, (ip[0] & 0xFu) * 4u) == 0; }

inline Bytes eth(MacAddr dst, MacAddr src, u16 type, Bytes const& payload) {
    Bytes f(14);
    memcpy(f.data(), dst.b, 6);
    memcpy(f.data() + 6, src.b, 6);
    wr16(f.data() + 12, type);
    f.insert(f.end(), payload.begin(), payload.end());
    if (f.size() < 60) f.resize(60, 0);
    return f;
}

// An IPv4 packet (20-byte header) around `l4`; `df` sets Don't Fragment.
inline Bytes ipv4(u32 src, u32 dst, u8 proto, Bytes const& l4, bool df = false) {
    Bytes p(20);
    p[0] = 0x45;
    wr16(p.data() + 2, static_cast<u32>(20 + l4.size()));
    wr16(p.data() + 4, 0x1234);
    wr16(p.data() + 6, df ? 0x4000 : 0);
    p[8] = 64;
    p[9] = proto;
    wr32(p.data() + 12, src);
    wr32(p.data() + 16, dst);
    wr16(p.data() + 10, csum(p.data(), 20));
    p.insert(p.end(), l4.begin(), l4.end());
    return p;
}

// A UDP datagram with a correct checksum.
inline Bytes udp(u32 src, u32 dst, u16 sport, u16 dport, Bytes const& data) {
    Bytes u(8);
    wr16(u.data(), sport);
    wr16(u.data() + 2, dport);
    wr16(u.data() + 4, static_cast<u32>(8 + data.size()));
    u.insert(u.end(), data.begin(), data.end());
    u32 pseudo = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + 17 + static_cast<u32>(u.size());
    wr16(u.data() + 6, csum(u.data(), u.size(), pseudo));
    return ipv4(src, dst, 17, u);
}

// A TCP segment with `options` (a multiple of 4 long), correct checksum.
inline Bytes tcp(u32 src, u32 dst, u8 flags, Bytes const& options, size_t data = 0) {
    Bytes t(20);
    wr16(t.data(), 40000);
    wr16(t.data() + 2, 80);
    t[12] = static_cast<u8>((20 + options.size()) / 4 << 4);
    t[13] = flags;
    wr16(t.data() + 14, 64240);
    t.insert(t.end(), options.begin(), options.end());
    t.resize(t.size() + data, 0x5A);
    u32 pseudo = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + 6 + static_cast<u32>(t.size());
    wr16(t.data() + 16, csum(t.data(), t.size(), pseudo));
    return ipv4(src, dst, 6, t);
}

// A client DHCP message (BOOTREQUEST) of `type` with extra options.
inline Bytes dhcp_msg(u8 type, u32 ciaddr, Bytes const& opts = {}, bool broadcast = false) {
    Bytes m(240, 0);
    m[0] = 1;
    m[1] = 1;
    m[2] = 6;
    wr32(m.data() + 4, 0xCAFEF00D);
    wr16(m.data() + 10, broadcast ? 0x8000 : 0);
    wr32(m.data() + 12, ciaddr);
    memcpy(m.data() + 28, kGuest.b, 6);
    wr32(m.data() + 236, 0x63825363);
    m.insert(m.end(), {53, 1, type});
    m.insert(m.end(), opts.begin(), opts.end());
    m.push_back(255);
    return m;
}
inline Bytes opt32(u8 code, u32 v) {
    Bytes o{code, 4, 0, 0, 0, 0};
    wr32(o.data() + 2, v);
    return o;
}
inline Bytes dhcp_frame(Bytes const& msg, u32 src_ip = 0, u32 dst_ip = 0xFFFFFFFF) {
    return eth(kBcast, kGuest, 0x0800, udp(src_ip, dst_ip, 68, 67, msg));
}

inline Bytes arp_request(u32 sender_ip, u32 target_ip) {
    Bytes a(28, 0);
    wr16(a.data(), 1);
    wr16(a.data() + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    wr16(a.data() + 6, 1);
    memcpy(a.data() + 8, kGuest.b, 6);
    wr32(a.data() + 14, sender_ip);
    wr32(a.data() + 24, target_ip);
    return eth(kBcast, kGuest, 0x0806, a);
}

// The policy on a real switch between fake sides, with a fake tunnel.
class VpnGuestTest : public ::testing::Test {
  protected:
    void SetUp() override {
        GuestNet net{};
        net.address = kInner;
        net.prefix = 24;
        net.dns[0] = kDns;
        net.dns_count = 1;
        net.lease_seconds = 3600;
        ASSERT_TRUE(policy.init(net, &tunnel, &sw, kMon));
        sw.init(&policy, &sides, &sides, kMon);
    }
    void guest_sends(Bytes const& f) { sw.from_guest(sw::Frame{f.data(), static_cast<u32>(f.size())}); }
    void wire_sends(Bytes const& f) { sw.from_wire(sw::Frame{f.data(), static_cast<u32>(f.size())}, nullptr); }
    u64 drops(GuestDrop d) const { return policy.counters().drops[static_cast<u32>(d)]; }

    FakeTunnel tunnel;
    Sides sides;
    sw::FrameSwitch sw;
    VpnGuestPolicy policy;
};

}  // namespace tv::vpn::test
