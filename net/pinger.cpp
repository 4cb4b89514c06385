#include "net/pinger.hpp"

#include <string.h>

#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "lwip/raw.h"
#include "lwip/sys.h"

namespace tv::net {

namespace {

constexpr u8 kEchoRequest = 8, kEchoReply = 0;
constexpr u32 kIcmpHeader = 8;
constexpr char kPayload[] = "thinvisor monitor ping 01234567";  // 32 bytes with the NUL
constexpr u32 kPayloadBytes = sizeof kPayload;
static_assert(kPayloadBytes == 32);

// One identifier per start(): a restarted pinger's late replies do not count, and a second
// pinger's replies are told apart.
constinit u16 g_next_id = 0x7476;

u16 get16(u8 const* p) { return static_cast<u16>(p[0] << 8 | p[1]); }

// lwIP hands a raw PCB every IPv4 packet of its protocol, IP header included; returning 1
// consumes it. Only echo replies from the target with our identifier are ours: everything
// else (the guest's own pings, requests to the monitor) goes on to lwIP's ICMP.
u8 recv_hook(void* arg, raw_pcb*, pbuf* p, ip_addr_t const* addr) {
    u8 hdr[60 + kIcmpHeader];
    u16 const n = pbuf_copy_partial(p, hdr, sizeof hdr, 0);
    if (n < 20) return 0;
    u32 const ihl = (hdr[0] & 0x0Fu) * 4u;
    if (ihl < 20 || n < ihl + kIcmpHeader || p->tot_len < ihl + kIcmpHeader) return 0;
    u32 const len = p->tot_len - ihl;
    if (!static_cast<Pinger*>(arg)->on_reply(ip4_addr_get_u32(ip_2_ip4(addr)), hdr + ihl, len, sys_now())) return 0;
    pbuf_free(p);
    return 1;
}

}  // namespace

Status Pinger::start(PingPlan const& plan, u64 now_ms) {
    if (pcb_) return Status::Exists;
    if (!plan.target || !plan.interval_ms || !plan.timeout_ms) return Status::Invalid;
    raw_pcb* pcb = raw_new(IP_PROTO_ICMP);
    if (!pcb) return Status::NoMemory;
    raw_recv(pcb, recv_hook, this);
    pcb_ = pcb;
    plan_ = plan;
    id_ = g_next_id++;
    next_seq_ = 0;
    next_send_ms_ = now_ms;
    memset(flights_, 0, sizeof flights_);
    counts_ = PingCounts{};
    return Status::Ok;
}

void Pinger::stop() {
    if (pcb_) raw_remove(static_cast<raw_pcb*>(pcb_));
    pcb_ = nullptr;
}

bool Pinger::finished() const {
    if (!plan_.count || counts_.sent < plan_.count) return false;
    for (Flight const& f : flights_)
        if (f.live) return false;
    return true;
}

void Pinger::tick(u64 now_ms) {
    if (!pcb_) return;
    for (Flight& f : flights_) {
        if (f.live && now_ms - f.sent_ms >= plan_.timeout_ms) {
            f.live = false;
            ++counts_.timeouts;
        }
    }
    if (plan_.count && counts_.sent + counts_.send_failed >= plan_.count) return;
    if (now_ms < next_send_ms_) return;
    next_send_ms_ = now_ms + plan_.interval_ms;
    send(now_ms);
}

void Pinger::send(u64 now_ms) {
    Flight* slot = nullptr;
    for (Flight& f : flights_)
        if (!f.live) slot = &f;
    pbuf* p = slot ? pbuf_alloc(PBUF_IP, kIcmpHeader + kPayloadBytes, PBUF_RAM) : nullptr;
    if (!p) {  // the window is full (timeout > interval x window) or no buffer
        ++counts_.send_failed;
        return;
    }
    u16 const seq = next_seq_++;
    u8* m = static_cast<u8*>(p->payload);
    m[0] = kEchoRequest;
    m[1] = 0;
    m[2] = m[3] = 0;
    m[4] = static_cast<u8>(id_ >> 8);
    m[5] = static_cast<u8>(id_);
    m[6] = static_cast<u8>(seq >> 8);
    m[7] = static_cast<u8>(seq);
    memcpy(m + kIcmpHeader, kPayload, kPayloadBytes);
    u16 const sum = inet_chksum(m, static_cast<u16>(kIcmpHeader + kPayloadBytes));
    memcpy(m + 2, &sum, 2);  // inet_chksum's result is in network order already
    ip_addr_t dst;
    ip_addr_set_ip4_u32(&dst, plan_.target);
    err_t const e = raw_sendto(static_cast<raw_pcb*>(pcb_), p, &dst);
    pbuf_free(p);
    if (e != ERR_OK) {  // no ARP entry yet is not an error: lwIP queues the packet
        ++counts_.send_failed;
        return;
    }
    *slot = Flight{seq, true, now_ms};
    ++counts_.sent;
}

bool Pinger::on_reply(u32 src, u8 const* icmp, u32 len, u64 now_ms) {
    if (!pcb_ || src != plan_.target || len < kIcmpHeader || icmp[0] != kEchoReply || get16(icmp + 4) != id_)
        return false;
    u16 const seq = get16(icmp + 6);
    for (Flight& f : flights_) {
        if (f.live && f.seq == seq) {
            f.live = false;
            ++counts_.replies;
            counts_.last_rtt_ms = static_cast<u32>(now_ms - f.sent_ms);
            return true;
        }
    }
    return true;  // ours, but late (already a timeout) or repeated: consumed, not counted
}

}  // namespace tv::net
