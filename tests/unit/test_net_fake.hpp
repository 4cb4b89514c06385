// A scripted wire for net/netstack: a FramePort that records what the monitor sends and
// delivers what a test injects, a fake clock behind lwIP's sys_now(), and frame builders
// and parsers for ARP, IPv4, ICMP, UDP and DHCP.
#pragma once

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "drivers/nic/frame_port.hpp"
#include "net/frame_check.hpp"

namespace tv::net::test {

using Bytes = std::vector<u8>;

// Advanced only by the tests (test_net_port.cpp's sys_now() returns it).
extern u32 g_now_ms;
// net_log() lines, newest last.
extern std::vector<std::string> g_net_log;

inline constexpr nic::MacAddr kMonMac{{0x02, 0, 0, 0, 0, 0x10}};
inline constexpr nic::MacAddr kHostMac{{0x02, 0, 0, 0, 0, 0x01}};
inline constexpr nic::MacAddr kBcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

// a.b.c.d in network byte order, as NetSettings wants it.
constexpr u32 ip(u8 a, u8 b, u8 c, u8 d) {
    return static_cast<u32>(a) | static_cast<u32>(b) << 8 | static_cast<u32>(c) << 16 | static_cast<u32>(d) << 24;
}

class FakePort final : public nic::FramePort {
  public:
    Status send(u8 const* frame, size_t len) override {
        if (len < 14 || len > 1514) return Status::Invalid;
        if (tx_full) return Status::NoMemory;
        sent.emplace_back(frame, frame + len);
        return Status::Ok;
    }
    void poll() override {
        while (!rx.empty()) {
            Bytes f = std::move(rx.front());
            rx.pop_front();
            deliver(f.data(), f.size());
        }
    }
    nic::MacAddr mac() const override { return kMonMac; }
    u32 mtu() const override { return 1500; }
    bool link_up() const override { return link; }

    std::vector<Bytes> take() { return std::exchange(sent, {}); }

    std::deque<Bytes> rx;
    std::vector<Bytes> sent;
    bool link = true;
    bool tx_full = false;
};

inline void put16(Bytes& b, u16 v) {
    b.push_back(static_cast<u8>(v >> 8));
    b.push_back(static_cast<u8>(v));
}
inline void put32be(Bytes& b, u32 net) {  // a network-order u32 as stored in memory
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<u8>(net >> (8 * i)));
}
inline u16 get16(Bytes const& b, size_t off) { return static_cast<u16>(b[off] << 8 | b[off + 1]); }
inline u32 get_ip(Bytes const& b, size_t off) {
    u32 v;
    std::memcpy(&v, &b[off], 4);
    return v;
}

inline Bytes eth(nic::MacAddr dst, nic::MacAddr src, u16 type, Bytes const& payload) {
    Bytes f(dst.b, dst.b + 6);
    f.insert(f.end(), src.b, src.b + 6);
    put16(f, type);
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
}

inline Bytes arp(u16 op, nic::MacAddr sha, u32 spa, nic::MacAddr tha, u32 tpa) {
    Bytes a;
    put16(a, 1);
    put16(a, 0x0800);
    a.push_back(6);
    a.push_back(4);
    put16(a, op);
    a.insert(a.end(), sha.b, sha.b + 6);
    put32be(a, spa);
    a.insert(a.end(), tha.b, tha.b + 6);
    put32be(a, tpa);
    return a;
}

inline Bytes ipv4(u32 src, u32 dst, u8 proto, Bytes const& payload) {
    Bytes h;
    h.push_back(0x45);
    h.push_back(0);
    put16(h, static_cast<u16>(20 + payload.size()));
    put16(h, 0x1234);
    put16(h, 0);
    h.push_back(64);
    h.push_back(proto);
    put16(h, 0);
    put32be(h, src);
    put32be(h, dst);
    u16 const c = inet_checksum(h.data(), h.size());
    h[10] = static_cast<u8>(c >> 8);
    h[11] = static_cast<u8>(c);
    h.insert(h.end(), payload.begin(), payload.end());
    return h;
}

inline Bytes icmp_echo(u16 id, u16 seq, std::string const& data) {
    Bytes m{8, 0, 0, 0};
    put16(m, id);
    put16(m, seq);
    m.insert(m.end(), data.begin(), data.end());
    u16 const c = inet_checksum(m.data(), m.size());
    m[2] = static_cast<u8>(c >> 8);
    m[3] = static_cast<u8>(c);
    return m;
}

inline Bytes udp(u16 sport, u16 dport, Bytes const& payload) {  // checksum 0: none (IPv4)
    Bytes u;
    put16(u, sport);
    put16(u, dport);
    put16(u, static_cast<u16>(8 + payload.size()));
    put16(u, 0);
    u.insert(u.end(), payload.begin(), payload.end());
    return u;
}

// Views of a frame the monitor sent (offsets into an Ethernet frame with a 20-byte IP header).
inline u16 ethertype(Bytes const& f) { return get16(f, 12); }
inline bool is_udp_to(Bytes const& f, u16 port) {
    return f.size() >= 42 && ethertype(f) == 0x0800 && f[23] == 17 && get16(f, 36) == port;
}
inline std::string udp_payload(Bytes const& f) {
    size_t const len = get16(f, 38) - 8u;
    return std::string(f.begin() + 42, f.begin() + 42 + static_cast<long>(len));
}

}  // namespace tv::net::test
