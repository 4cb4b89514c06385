#include "vpn/guest/vpn_policy.hpp"

#include <string.h>

#include "switch/mac_policy.hpp"
#include "vpn/guest/guest_arp.hpp"
#include "vpn/guest/guest_dhcp.hpp"
#include "vpn/guest/ip_size.hpp"

namespace tv::vpn {

using namespace inet;
using sw::Dest;
using sw::Frame;

bool VpnGuestPolicy::init(GuestNet const& net, Tunnel* tunnel, sw::FrameSwitch* sw, MacAddr monitor_mac) {
    net_ = net;
    net_.gateway = gateway_for(net.address, net.prefix);
    tunnel_ = tunnel;
    sw_ = sw;
    mon_ = monitor_mac;
    return net_.gateway != 0;
}

Dest VpnGuestPolicy::from_wire(Frame f) {
    MacAddr const dst = sw::dst_mac(f);
    if (dst == mon_ || sw::is_group(dst)) return Dest::Monitor;
    drop(GuestDrop::WireForGuest);
    return Dest::None;
}

Dest VpnGuestPolicy::from_monitor(Frame) { return Dest::Wire; }

Dest VpnGuestPolicy::from_guest(Frame f) {
    if (f.len < kEthHeader) {
        drop(GuestDrop::Runt);
        return Dest::None;
    }
    MacAddr const src = sw::src_mac(f);
    if (!sw::is_group(src) && src != kGatewayMac) {
        guest_ = src;
        guest_known_ = true;
    }
    u16 const type = get16(f.data + 12);
    if (type == kTypeIpv4) {
        guest_ipv4(f);
    } else if (type == kTypeArp) {
        if (u32 const n = arp_answer(net_.gateway, f.data, f.len, out_)) {
            ++c_.arp_replies;
            to_guest(n);
        } else {
            drop(GuestDrop::ArpOther);
        }
    } else {
        drop(GuestDrop::OtherType);
    }
    return Dest::None;  // whatever it was, the wire never gets it
}

void VpnGuestPolicy::guest_ipv4(Frame f) {
    Ipv4View v;
    if (!ipv4_parse(f.data + kEthHeader, f.len - kEthHeader, &v)) return drop(GuestDrop::BadIpv4);
    if (v.proto() == kProtoUdp && !v.fragment() && v.payload_len() >= 8 && get16(v.payload() + 2) == 67 &&
        (v.dst() == 0xFFFFFFFFu || v.dst() == net_.gateway))
        return guest_dhcp(v);
    if (v.src() != net_.address) return drop(GuestDrop::NotGuestSource);
    // The guest's virtual LAN ends at the gateway: its broadcasts, multicasts and packets for
    // the gateway itself mean nothing beyond it.
    u32 const dst = v.dst();
    if (dst == net_.gateway || dst == 0xFFFFFFFFu || (dst | net_.mask()) == 0xFFFFFFFFu || (dst >> 28) == 0xE)
        return drop(GuestDrop::LocalDst);
    bool const up = tunnel_->up();
    if (!up && v.total > kInnerMtu) return drop(GuestDrop::TunnelDown);
    memcpy(pkt_, v.p, v.total);
    Ipv4View w{pkt_, v.header, v.total};
    if (clamp_mss(pkt_, w, static_cast<u16>(kTcpMss))) ++c_.mss_clamped;
    if (!up) {  // nothing leaves now; the tunnel may keep this one for the SA under way
        if (tunnel_->hold(pkt_, w.total)) ++c_.held;
        return drop(GuestDrop::TunnelDown);
    }
    if (w.total <= kInnerMtu) return to_tunnel(w.total);
    if (w.df()) {
        ++c_.frag_needed;
        return to_guest(frag_needed(net_.gateway, guest_, w, static_cast<u16>(kInnerMtu), out_));
    }
    if (w.header != kIpHeader) return drop(GuestDrop::TooBigOptions);
    int const n = send_fragments(*tunnel_, w, kInnerMtu);
    if (n < 0) return drop(GuestDrop::TunnelRefused);
    ++c_.fragmented;
    c_.fragments += static_cast<u64>(n);
}

void VpnGuestPolicy::guest_dhcp(Ipv4View const& v) {
    u32 const udp_len = get16(v.payload() + 4);
    if (udp_len < 8 || udp_len > v.payload_len()) return drop(GuestDrop::DhcpIgnored);
    if (u32 const n = dhcp_answer(net_, guest_, v.payload() + 8, udp_len - 8, out_, c_)) to_guest(n);
}

void VpnGuestPolicy::to_tunnel(u32 len) {
    if (!ok(tunnel_->send_inner(pkt_, len))) return drop(GuestDrop::TunnelRefused);
    ++c_.to_tunnel;
}

void VpnGuestPolicy::to_guest(u32 len) {
    if (!sw_->inject_to_guest(Frame{out_, len})) drop(GuestDrop::GuestFull);
}

void VpnGuestPolicy::from_tunnel(u8 const* packet, u32 len) {
    Ipv4View v;
    if (!ipv4_parse(packet, len, &v) || v.total > kMaxFrame - kEthHeader) return drop(GuestDrop::InnerBad);
    if (v.dst() != net_.address) return drop(GuestDrop::InnerNotGuest);
    if (!guest_known_) return drop(GuestDrop::NoGuestMac);
    ++c_.from_tunnel;
    gateway_eth(out_, guest_, kTypeIpv4);
    memcpy(out_ + kEthHeader, v.p, v.total);
    Ipv4View w{out_ + kEthHeader, v.header, v.total};
    if (clamp_mss(out_ + kEthHeader, w, static_cast<u16>(kTcpMss))) ++c_.mss_clamped;
    u32 len_out = kEthHeader + v.total;
    if (len_out < 60) {  // Ethernet's minimum: padded, outside the IP packet
        memset(out_ + len_out, 0, 60 - len_out);
        len_out = 60;
    }
    to_guest(len_out);
}

}  // namespace tv::vpn
