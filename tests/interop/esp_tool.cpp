// vpn/esp driven from a script, for the interoperability suite (tests/suites/esp_interop.py),
// which checks our packets against an independent RFC 4106 implementation and back.
//
//   esp_tool KEYMAT_HEX KEY_BYTES SPI_IN SPI_OUT INITIATOR(0|1)
//
// installs one child SA pair (vpn/sa.hpp, SPIs in hex) and then reads commands, one a line:
//   seal HEX   seal the inner packet HEX; prints "ok ESP_HEX" or "refused"
//   open HEX   open the ESP packet HEX;   prints "ok INNER_HEX" or the verdict's name
//   udp HEX    classify a UDP port-4500 payload; prints esp, ike, keepalive or malformed
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "vpn/esp.hpp"
#include "vpn/esp_udp.hpp"

using namespace tv;
using namespace tv::vpn;

namespace {

std::vector<u8> unhex(std::string const& h) {
    std::vector<u8> out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<u8>(std::stoul(h.substr(i, 2), nullptr, 16)));
    return out;
}

void print_hex(char const* prefix, u8 const* p, u64 n) {
    printf("%s", prefix);
    for (u64 i = 0; i < n; ++i)
        printf("%02x", p[i]);
    printf("\n");
}

char const* kind_name(Udp4500Kind k) {
    switch (k) {
    case Udp4500Kind::Esp:
        return "esp";
    case Udp4500Kind::Ike:
        return "ike";
    case Udp4500Kind::Keepalive:
        return "keepalive";
    case Udp4500Kind::Malformed:
        break;
    }
    return "malformed";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: esp_tool KEYMAT_HEX KEY_BYTES SPI_IN SPI_OUT INITIATOR\n");
        return 2;
    }
    std::vector<u8> const keymat = unhex(argv[1]);
    static SaDb db;
    ChildSaSpec s;
    s.keymat = keymat.data();
    s.keymat_len = keymat.size();
    s.key_bytes = strtoull(argv[2], nullptr, 0);
    s.spi_in = static_cast<u32>(strtoul(argv[3], nullptr, 16));
    s.spi_out = static_cast<u32>(strtoul(argv[4], nullptr, 16));
    s.initiator = strcmp(argv[5], "1") == 0;
    if (!ok(db.install(s))) {
        fprintf(stderr, "esp_tool: cannot install the SA\n");
        return 1;
    }
    EspStats stats;
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        std::string l(line);
        while (!l.empty() && (l.back() == '\n' || l.back() == '\r'))
            l.pop_back();
        std::string const cmd = l.substr(0, l.find(' '));
        std::vector<u8> data = unhex(l.size() > cmd.size() ? l.substr(cmd.size() + 1) : "");
        if (cmd == "seal") {
            std::vector<u8> out(esp_sealed_len(data.size()));
            u64 n = 0;
            SaLimit lim;
            if (ok(esp_seal(*db.outbound(), 0, data.data(), data.size(), out.data(), out.size(), &n,
                            &lim, stats)))
                print_hex("ok ", out.data(), n);
            else
                printf("refused\n");
        } else if (cmd == "open") {
            EspOpened const r = esp_open(db, data.data(), data.size(), stats, 0);
            if (r.verdict == EspVerdict::Ok)
                print_hex("ok ", data.data() + r.inner_off, r.inner_len);
            else
                printf("%s\n", verdict_name(r.verdict));
        } else if (cmd == "udp") {
            printf("%s\n", kind_name(classify_udp4500(data.data(), data.size())));
        } else {
            printf("unknown command\n");
        }
        fflush(stdout);
    }
    db.clear();
    return 0;
}
