#include "net/udp_socket.hpp"

#include <string.h>

#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

namespace tv::net {

namespace {

// One receive buffer for every socket: lwIP delivers one datagram at a time.
constinit u8 g_rx[UdpSocket::kMaxDatagram]{};

void recv_cb(void* arg, udp_pcb*, pbuf* p, ip_addr_t const* addr, u16_t port) {
    if (!p) return;
    static_cast<UdpSocket*>(arg)->on_pbuf(p, ip4_addr_get_u32(ip_2_ip4(addr)), port);
}

}  // namespace

void UdpSocket::on_pbuf(void* pv, u32 src_be, u16 src_port) {
    pbuf* p = static_cast<pbuf*>(pv);
    size_t const len = p->tot_len;
    if (len > sizeof g_rx) {
        ++too_long_;
        pbuf_free(p);
        return;
    }
    bool const copied = pbuf_copy_partial(p, g_rx, p->tot_len, 0) == p->tot_len;
    pbuf_free(p);
    if (copied && fn_) fn_(ctx_, src_be, src_port, g_rx, len);
}

Status UdpSocket::open(u16 port, UdpRecvFn fn, void* ctx) {
    if (pcb_) return Status::Exists;
    udp_pcb* pcb = udp_new();
    if (!pcb) return Status::NoMemory;
    if (udp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK) {
        udp_remove(pcb);
        return Status::Exists;
    }
    fn_ = fn;
    ctx_ = ctx;
    udp_recv(pcb, recv_cb, this);
    pcb_ = pcb;
    return Status::Ok;
}

void UdpSocket::close() {
    if (pcb_) udp_remove(static_cast<udp_pcb*>(pcb_));
    pcb_ = nullptr;
}

Status UdpSocket::send_to(u32 dst_be, u16 port, u8 const* data, size_t len) {
    if (!pcb_ || len > 0xFFFF - 28) return Status::Invalid;
    pbuf* p = pbuf_alloc(PBUF_TRANSPORT, static_cast<u16_t>(len), PBUF_RAM);
    if (!p) return Status::NoMemory;
    memcpy(p->payload, data, len);
    ip_addr_t to;
    ip_addr_set_ip4_u32(&to, dst_be);
    err_t const e = udp_sendto(static_cast<udp_pcb*>(pcb_), p, &to, port);
    pbuf_free(p);
    return e == ERR_OK ? Status::Ok : e == ERR_MEM ? Status::NoMemory : Status::Refused;
}

}  // namespace tv::net
