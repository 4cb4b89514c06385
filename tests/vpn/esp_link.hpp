// The host client's ESP side, on vpn/'s ESP code (vpn/sa.hpp, vpn/esp.hpp): a TUN device for
// the inner traffic, carried as ESP in UDP 4500 on the same socket as IKE. The child SAs IKE
// brings up are installed in an SaDb and removed when IKE deletes them.
#pragma once

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/types.hpp"
#include "crypto/secure_zero.hpp"
#include "vpn/esp.hpp"
#include "vpn/ike/initiator.hpp"
#include "vpn/sa.hpp"

class EspLink {
  public:
    EspLink(int fd4500, sockaddr_in gw) : fd_{fd4500}, gw_{gw} {}
    ~EspLink() {
        db_.clear();
        if (tun_ >= 0)
            close(tun_);
    }

    bool open_tun(char const* name) {
        tun_ = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
        ifreq ifr{};
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
        if (tun_ < 0 || ioctl(tun_, TUNSETIFF, &ifr) != 0) {
            perror("ike-client: TUN");
            return false;
        }
        return true;
    }
    int tun_fd() const { return tun_; }

    void up(tv::vpn::ike::ChildSa const& sa) {
        using namespace tv;
        u8 keymat[2 * (32 + 4)];
        u8 const kb = sa.keys.i_to_r.key_len;
        memcpy(keymat, sa.keys.i_to_r.key, kb);
        memcpy(keymat + kb, sa.keys.i_to_r.salt, 4);
        memcpy(keymat + kb + 4, sa.keys.r_to_i.key, kb);
        memcpy(keymat + 2 * kb + 4, sa.keys.r_to_i.salt, 4);
        vpn::ChildSaSpec spec{};
        spec.spi_in = sa.spi_in;
        spec.spi_out = sa.spi_out;
        spec.keymat = keymat;
        spec.keymat_len = 2u * (kb + 4u);
        spec.key_bytes = kb;
        spec.initiator = true;
        spec.now_s = now_s();
        Status const st = db_.install(spec);
        crypto::secure_zero(keymat, sizeof keymat);
        printf("ESP_INSTALL %s spi_in=%08x spi_out=%08x\n", ok(st) ? "ok" : "refused", sa.spi_in,
               sa.spi_out);
        fflush(stdout);
    }
    void down(tv::u32 spi_in) { (void)db_.remove_by_inbound(spi_in); }

    // An ESP packet from the gateway (the UDP payload); true if it was authentic.
    bool from_gateway(tv::u8* pkt, size_t len) {
        tv::vpn::EspOpened const o = tv::vpn::esp_open(db_, pkt, len, stats_, 0);
        if (o.verdict != tv::vpn::EspVerdict::Ok)
            return o.verdict == tv::vpn::EspVerdict::Dummy;
        if (tun_ >= 0 && write(tun_, pkt + o.inner_off, o.inner_len) < 0)
            perror("ike-client: TUN write");
        return true;
    }

    // Inner packets from the TUN device, sealed and sent to the gateway.
    void from_tun() {
        tv::u8 in[2048], out[2048 + 64];
        for (;;) {
            ssize_t const n = read(tun_, in, sizeof in);
            if (n <= 0)
                return;
            tv::vpn::SaPair* pair = db_.outbound();
            tv::u64 len = 0;
            tv::vpn::SaLimit limit{};
            if (pair == nullptr ||
                !tv::ok(tv::vpn::esp_seal(*pair, now_s(), in, static_cast<tv::u64>(n), out,
                                          sizeof out, &len, &limit, stats_)))
                continue;
            sockaddr_in to = gw_;
            to.sin_port = htons(4500);
            sendto(fd_, out, len, 0, reinterpret_cast<sockaddr const*>(&to), sizeof to);
        }
    }
    tv::vpn::EspStats const& stats() const { return stats_; }

  private:
    static tv::u64 now_s() {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return static_cast<tv::u64>(ts.tv_sec);
    }
    int fd_;
    sockaddr_in gw_;
    int tun_ = -1;
    tv::vpn::SaDb db_;
    tv::vpn::EspStats stats_;
};
