#include "aoe/host/raw_socket.hpp"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace tv::aoe::host {

namespace {
constexpr int kRecvBuffer = 8 << 20;  // a full window of jumbo replies, many times over
}

RawSocket::~RawSocket() {
    if (fd_ >= 0)
        close(fd_);
}

Status RawSocket::fail(char const* what, Status s) {
    snprintf(error_, sizeof error_, "%s: %s", what, strerror(errno));
    if (fd_ >= 0)
        close(fd_);
    fd_ = -1;
    return s;
}

Status RawSocket::open(char const* ifname) {
    if (strlen(ifname) >= IFNAMSIZ) {
        snprintf(error_, sizeof error_, "interface name too long: %s", ifname);
        return Status::Invalid;
    }
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(kEtherType));
    if (fd_ < 0)
        return fail("socket(AF_PACKET)", Status::Refused);
    ifreq ifr{};
    memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
    if (ioctl(fd_, SIOCGIFINDEX, &ifr) < 0)
        return fail(ifname, Status::NotFound);
    ifindex_ = ifr.ifr_ifindex;
    if (ioctl(fd_, SIOCGIFHWADDR, &ifr) < 0)
        return fail("SIOCGIFHWADDR", Status::NotFound);
    memcpy(mac_.b, ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(fd_, SIOCGIFMTU, &ifr) < 0)
        return fail("SIOCGIFMTU", Status::NotFound);
    mtu_ = static_cast<u32>(ifr.ifr_mtu);
    // Best effort (FORCE passes rmem_max when privileged): a small buffer only costs
    // retransmissions.
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &kRecvBuffer, sizeof kRecvBuffer) < 0)
        (void)setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &kRecvBuffer, sizeof kRecvBuffer);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(kEtherType);
    addr.sll_ifindex = ifindex_;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return fail("bind", Status::Refused);
    return Status::Ok;
}

Status RawSocket::send(u8 const* frame, size_t len) {
    if (fd_ < 0)
        return Status::Invalid;
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(kEtherType);
    addr.sll_ifindex = ifindex_;
    addr.sll_halen = 6;
    memcpy(addr.sll_addr, frame, 6);
    ssize_t const n = sendto(fd_, frame, len, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (n == static_cast<ssize_t>(len))
        return Status::Ok;
    return errno == ENOBUFS || errno == EAGAIN ? Status::NoMemory : Status::Refused;
}

long RawSocket::receive(u8* buf, size_t cap, u64 timeout_us) {
    if (fd_ < 0)
        return -1;
    for (bool waited = false;;) {
        sockaddr_ll from{};
        socklen_t flen = sizeof from;
        ssize_t const n = recvfrom(fd_, buf, cap, MSG_DONTWAIT | MSG_TRUNC,
                                   reinterpret_cast<sockaddr*>(&from), &flen);
        if (n >= 0) {
            if (from.sll_pkttype == PACKET_OUTGOING)  // our own frames, looped back to us
                continue;
            // A frame longer than the buffer is reported at its real length; cut it to what
            // was stored, and the parser judges the remains.
            return static_cast<size_t>(n) > cap ? static_cast<long>(cap) : n;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        if (waited || timeout_us == 0)
            return 0;
        pollfd p{fd_, POLLIN, 0};
        int const ms = static_cast<int>((timeout_us + 999) / 1000);
        if (::poll(&p, 1, ms) < 0 && errno != EINTR)
            return -1;
        waited = true;
    }
}

u64 MonotonicClock::now_us() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<u64>(ts.tv_sec) * 1'000'000u + static_cast<u64>(ts.tv_nsec) / 1000u;
}

bool step(Initiator& ini, RawSocket& sock, Clock& clock, u64 max_wait_us) {
    static u8 buf[65536];
    u64 const now = clock.now_us();
    u64 const timer = ini.next_timer_us();
    u64 wait = timer > now ? timer - now : 0;
    if (wait > max_wait_us)
        wait = max_wait_us;
    long n = sock.receive(buf, sizeof buf, wait);
    for (int burst = 0; n > 0 && burst < 256; ++burst) {  // drain, but let timers run too
        ini.on_frame(buf, static_cast<size_t>(n));
        n = sock.receive(buf, sizeof buf, 0);
    }
    if (n > 0)
        ini.on_frame(buf, static_cast<size_t>(n));
    ini.poll(clock.now_us());
    return n >= 0;
}

}  // namespace tv::aoe::host
