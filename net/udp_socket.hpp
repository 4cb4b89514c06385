// A UDP endpoint on the monitor's stack (lwIP raw API) for code that must not see lwIP: the
// VPN's IKE on ports 500 and 4500 and its ESP in UDP (RFC 3948). Received datagrams are copied
// into one buffer of this file before the receiver sees them (a pbuf chain is never handed
// out, and the receiver may modify the bytes: ESP opens in place).
//
// Same thread rules as the stack (net/netstack.hpp): called on the CPU that ticks it, or under
// the NIC's lock from the exit path; the receive function runs from inside the stack's input.
#pragma once

#include "core/types.hpp"

namespace tv::net {

// src is the sender's IPv4 address in network byte order, port in host order. data is
// writable and valid during the call only.
using UdpRecvFn = void (*)(void* ctx, u32 src_be, u16 src_port, u8* data, size_t len);

class UdpSocket {
  public:
    static constexpr size_t kMaxDatagram = 4096;  // larger ones are dropped (counted)

    // Binds the local port on every address. NoMemory without a free PCB, Exists when bound.
    [[nodiscard]] Status open(u16 port, UdpRecvFn fn, void* ctx);
    void close();
    [[nodiscard]] bool is_open() const { return pcb_ != nullptr; }
    // One datagram to dst_be:port. NoMemory when lwIP or the NIC has no room now.
    [[nodiscard]] Status send_to(u32 dst_be, u16 port, u8 const* data, size_t len);

    u64 too_long() const { return too_long_; }

    // lwIP's receive callback (public for the C linkage of the raw API only).
    void on_pbuf(void* p, u32 src_be, u16 src_port);

  private:
    void* pcb_{nullptr};  // struct udp_pcb
    UdpRecvFn fn_{nullptr};
    void* ctx_{nullptr};
    u64 too_long_{0};
};

// The Ethernet address of the next hop toward dst_be (network byte order) from the monitor's
// interface: the host itself on the local subnet, else the default gateway. False while it is
// not known; an ARP request is then sent (at most once a second), so that a caller building
// its own frames (the VPN's ESP, outside lwIP) can ask again on its next tick.
[[nodiscard]] bool stack_next_hop_mac(u32 dst_be, u8 mac[6]);

}  // namespace tv::net
