#include "vpn/guest/guest_dhcp.hpp"

#include <string.h>

#include "vpn/guest/frames.hpp"
#include "vpn/guest/inet.hpp"

namespace tv::vpn {

using namespace inet;

namespace {

constexpr u32 kFixed = 236, kOptions = 240;  // BOOTP's fixed part; the options after the magic cookie
constexpr u32 kMagic = 0x63825363;
constexpr u32 kReplyLen = 300;  // the BOOTP minimum some clients still expect
constexpr u8 kOptPad = 0, kOptEnd = 255, kOptMask = 1, kOptRouter = 3, kOptDns = 6, kOptMtu = 26,
             kOptRequested = 50, kOptLease = 51, kOptType = 53, kOptServer = 54;
constexpr u16 kFlagBroadcast = 0x8000;

// Walks the options; false on an option running past the message.
bool read_options(u8 const* m, u32 len, DhcpRequest* r) {
    for (u32 i = kOptions; i < len;) {
        u8 const code = m[i];
        if (code == kOptEnd) return true;
        if (code == kOptPad) {
            ++i;
            continue;
        }
        if (i + 2 > len || i + 2 + m[i + 1] > len) return false;
        u8 const n = m[i + 1];
        u8 const* v = m + i + 2;
        if (code == kOptType && n == 1) r->type = static_cast<DhcpType>(v[0]);
        if (code == kOptRequested && n == 4) r->requested = get32(v);
        if (code == kOptServer && n == 4) r->server_id = get32(v);
        i += 2u + n;
    }
    return true;  // no end option: tolerated, as the message ended
}

struct Opts {
    u8* p;
    u32 n;
    void add(u8 code, u8 len, u8 const* v) {
        p[n] = code;
        p[n + 1] = len;
        memcpy(p + n + 2, v, len);
        n += 2u + len;
    }
    void add32(u8 code, u32 v) {
        u8 b[4];
        put32(b, v);
        add(code, 4, b);
    }
};

u32 reply(GuestNet const& net, MacAddr guest, DhcpRequest const& r, DhcpType type, u8* out) {
    u8* const m = out + kEthHeader + kIpHeader + 8;
    memset(m, 0, kReplyLen);
    m[0] = 2;  // BOOTREPLY
    m[1] = 1;
    m[2] = 6;
    put32(m + 4, r.xid);
    put16(m + 10, r.flags & kFlagBroadcast);
    put32(m + 12, r.ciaddr);
    if (type == DhcpType::Offer || (type == DhcpType::Ack && r.type == DhcpType::Request)) put32(m + 16, net.address);
    memcpy(m + 28, r.chaddr, 16);
    put32(m + kFixed, kMagic);
    Opts o{m + kOptions, 0};
    u8 const t = static_cast<u8>(type);
    o.add(kOptType, 1, &t);
    o.add32(kOptServer, net.gateway);
    if (type != DhcpType::Nak) {
        if (r.type != DhcpType::Inform) o.add32(kOptLease, net.lease_seconds);
        o.add32(kOptMask, net.mask());
        o.add32(kOptRouter, net.gateway);
        u8 dns[4 * GuestNet::kMaxDns];
        for (u32 i = 0; i < net.dns_count; ++i) put32(dns + 4 * i, net.dns[i]);
        if (net.dns_count) o.add(kOptDns, static_cast<u8>(4 * net.dns_count), dns);
        u8 mtu[2];
        put16(mtu, static_cast<u16>(kInnerMtu));
        o.add(kOptMtu, 2, mtu);
    }
    o.p[o.n] = kOptEnd;
    // RFC 2131 4.1: to ciaddr when the client has one, broadcast when it asks or on a NAK,
    // else to the address offered, at the client's MAC.
    bool const bcast = type == DhcpType::Nak || ((r.flags & kFlagBroadcast) && !r.ciaddr);
    u32 const dst_ip = bcast ? 0xFFFFFFFFu : r.ciaddr ? r.ciaddr : net.address;
    MacAddr const dst = bcast ? MacAddr{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}} : guest;
    return gateway_udp_frame(out, dst, net.gateway, dst_ip, 67, 68, kReplyLen, static_cast<u16>(r.xid));
}

}  // namespace

bool dhcp_parse(u8 const* m, u32 len, DhcpRequest* out) {
    *out = DhcpRequest{};
    if (len < kOptions || m[0] != 1 || m[1] != 1 || m[2] != 6 || get32(m + kFixed) != kMagic) return false;
    out->xid = get32(m + 4);
    out->flags = get16(m + 10);
    out->ciaddr = get32(m + 12);
    memcpy(out->chaddr, m + 28, 16);
    return read_options(m, len, out) && out->type != DhcpType::None;
}

u32 dhcp_answer(GuestNet const& net, MacAddr guest, u8 const* m, u32 len, u8* out, GuestCounters& c) {
    DhcpRequest r;
    auto const ignore = [&c] {
        ++c.drops[static_cast<u32>(GuestDrop::DhcpIgnored)];
        return 0u;
    };
    if (!dhcp_parse(m, len, &r)) return ignore();
    if (r.server_id && r.server_id != net.gateway) return ignore();  // the guest chose another server
    switch (r.type) {
        case DhcpType::Discover: ++c.dhcp_offers; return reply(net, guest, r, DhcpType::Offer, out);
        case DhcpType::Request: {
            u32 const want = r.requested ? r.requested : r.ciaddr;
            if (want == net.address) {
                ++c.dhcp_acks;
                return reply(net, guest, r, DhcpType::Ack, out);
            }
            ++c.dhcp_naks;
            return reply(net, guest, r, DhcpType::Nak, out);
        }
        case DhcpType::Inform: ++c.dhcp_acks; return reply(net, guest, r, DhcpType::Ack, out);
        case DhcpType::Release: ++c.dhcp_releases; return 0;
        default: return ignore();  // DECLINE (the address is the tunnel's: nothing else to offer), or a server's type
    }
}

}  // namespace tv::vpn
