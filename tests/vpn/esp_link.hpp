// The host client's ESP side: a TUN device for the inner traffic, carried as ESP in UDP 4500.
// Until vpn/ESP is on main this holds no ESP engine: --tun is refused.
#pragma once

#include <netinet/in.h>
#include <stdio.h>

#include "core/types.hpp"
#include "vpn/ike/initiator.hpp"

class EspLink {
  public:
    EspLink(int fd4500, sockaddr_in gw) : fd_{fd4500}, gw_{gw} {}
    bool open_tun(char const*) {
        fprintf(stderr, "ike-client: --tun needs the ESP engine, not built in\n");
        return false;
    }
    int tun_fd() const { return -1; }
    void up(tv::vpn::ike::ChildSa const&) {}
    void down(tv::u32) {}
    bool from_gateway(tv::u8*, size_t) { return false; }
    void from_tun() {}

  private:
    int fd_;
    sockaddr_in gw_;
};
