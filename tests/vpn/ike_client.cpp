// ike-client: the IKE initiator of vpn/ike/ on the host, over real UDP sockets, for
// tests/suites/vpn_ike.py to run against strongSwan. It binds UDP 500 and 4500 on --local,
// brings the SA up with --gw, prints what happens, keeps the SA for --up-for seconds (DPD
// running), deletes it and exits. With --tun NAME, inner packets on that TUN device go through
// the child SA with vpn/'s ESP (the test gives the device its inner address and routes).
//
//   ike-client --local IP --gw IP --id ID [--remote-id ID] (--psk-file F | --ca F --cert F --key F)
//              [--groups 31,19,14] [--key-bits 256,128] [--up-for S] [--deadline S] [--dpd MS]
//              [--keep-trying] [--child-rekey MS] [--ike-rekey MS] [--tun NAME] [--fragment-mtu N]
//              [--rx-delay-ms MS] [--rsa-pss]
//
// --rx-delay-ms holds each IKE message from the gateway that long before the initiator sees it
// (a slow path one way, without netem): the suite uses it to make both sides' rekeys cross.
//
// With --ca/--cert/--key (PEM or DER files) it authenticates with certificates: the gateway's
// must chain to --ca and name --remote-id ("dn:C=CH, O=Org, CN=gw" for a DN). Its sockets set
// IP_PMTUDISC_DO, as the monitor never fragments IP: a datagram larger than the path's MTU is
// not sent, so only IKE fragments (RFC 7383, --fragment-mtu) get a large message through.
// --rsa-pss: an RSA key signs RFC 7427's AUTH with RSASSA-PSS rather than PKCS#1 v1.5.
//
// Lines for the test: "IKE_SA_UP spi_i=.. spi_r=.. group=N", "CHILD_SA_UP spi_in=.. spi_out=..
// inner=A.B.C.D", "FAILED <error>", "CLOSED". Exit 0 after a clean delete, 2 on a failure
// (unless --keep-trying), 3 at the deadline, 4 when the Delete went unanswered.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/secure_zero.hpp"
#include "tests/vpn/esp_link.hpp"
#include "vpn/ike/constants.hpp"
#include "vpn/ike/file_signer.hpp"
#include "vpn/ike/initiator.hpp"

using namespace tv;
using namespace tv::vpn::ike;

namespace {

volatile sig_atomic_t g_stop = 0;
u32 g_rx_delay_ms = 0;  // --rx-delay-ms
void on_signal(int) {
    g_stop = 1;
}

u64 mono_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<u64>(ts.tv_sec) * 1000u + static_cast<u64>(ts.tv_nsec) / 1000000u;
}

bool fill_random(void*, u8* out, u64 n) {
    while (n != 0) {
        ssize_t const got = getrandom(out, n, 0);
        if (got <= 0)
            return false;
        out += got;
        n -= static_cast<u64>(got);
    }
    return true;
}

struct HostClock final : Clock {
    u64 now_ms() override { return mono_ms(); }
};

struct Udp final : Transport {
    int fd500 = -1, fd4500 = -1;
    sockaddr_in gw{};
    Status send(u16 port, u8 const* data, size_t len) override {
        sockaddr_in to = gw;
        to.sin_port = htons(port);
        int const fd = port == kNattPort ? fd4500 : fd500;
        return sendto(fd, data, len, 0, reinterpret_cast<sockaddr const*>(&to), sizeof to) ==
                       static_cast<ssize_t>(len)
                   ? Status::Ok
                   : Status::Refused;
    }
};

struct Printer final : Events {
    u64 t0 = mono_ms();
    EspLink* esp = nullptr;
    bool child = false;
    void line(char const* text) override {
        printf("%7.3f %s\n", static_cast<double>(mono_ms() - t0) / 1000.0, text);
        fflush(stdout);
    }
    void child_up(ChildSa const& sa) override {
        printf("CHILD_SA_UP spi_in=%08x spi_out=%08x inner=%u.%u.%u.%u\n", sa.spi_in, sa.spi_out,
               sa.inner_ip[0], sa.inner_ip[1], sa.inner_ip[2], sa.inner_ip[3]);
        fflush(stdout);
        child = true;
        if (esp != nullptr)
            esp->up(sa);
    }
    void child_down(u32 in, u32 out) override {
        printf("CHILD_SA_DOWN spi_in=%08x spi_out=%08x\n", in, out);
        fflush(stdout);
        child = false;
        if (esp != nullptr)
            esp->down(in);
    }
};

int bind_udp(in_addr addr, u16 port) {
    int const fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr = addr;
    a.sin_port = htons(port);
    int const pmtu = IP_PMTUDISC_DO;
    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        fprintf(stderr, "ike-client: cannot bind UDP %u: %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

Identity parse_id(char const* s) {
    Identity id{};
    in_addr a{};
    size_t const n = strlen(s);
    if (n > sizeof id.data) {
        fprintf(stderr, "ike-client: identity too long\n");
        exit(1);
    }
    if (inet_pton(AF_INET, s, &a) == 1) {
        id.type = idtype::kIpv4;
        id.len = 4;
        memcpy(id.data, &a, 4);
        return id;
    }
    if (strncmp(s, "dn:", 3) == 0) {
        id.type = idtype::kDerAsn1Dn;
        s += 3;
    } else {
        id.type = strchr(s, '@') != nullptr && s[0] != '@' ? idtype::kRfc822 : idtype::kFqdn;
    }
    if (s[0] == '@')
        ++s;
    id.len = static_cast<u8>(strlen(s));
    memcpy(id.data, s, id.len);
    return id;
}

template <size_t N>
void parse_list(char const* s, u16 (&out)[N]) {
    for (size_t i = 0; i < N; ++i)
        out[i] = 0;
    for (size_t i = 0; i < N && *s != '\0'; ++i) {
        char* end = nullptr;
        out[i] = static_cast<u16>(strtoul(s, &end, 10));
        s = *end == ',' ? end + 1 : end;
    }
}

void usage() {
    fprintf(stderr,
            "usage: ike-client --local IP --gw IP --id ID [--remote-id ID] (--psk-file F | --ca F "
            "--cert F --key F) [--groups 31,19,14]\n"
            "       [--key-bits 256,128] [--up-for S] [--deadline S] [--dpd MS] [--keep-trying] "
            "[--child-rekey MS]\n"
            "       [--ike-rekey MS] [--tun NAME] [--fragment-mtu N] [--rx-delay-ms MS] [--rsa-pss]\n");
    exit(1);
}

struct Options {
    Config cfg{};
    char const* local = nullptr;
    char const* gw = nullptr;
    char const* psk_file = nullptr;
    char const* ca = nullptr;
    char const* cert = nullptr;
    char const* key = nullptr;
    char const* tun = nullptr;
    double up_for = 2, deadline = 30;
    bool keep_trying = false;
    in_addr la{}, ga{};
};

Config default_config() {
    Config cfg{};
    cfg.groups[0] = group::kCurve25519;
    cfg.groups[1] = group::kEcp256;
    cfg.groups[2] = group::kModp2048;
    cfg.key_bits[0] = 256;
    cfg.key_bits[1] = 128;
    cfg.retransmit_ms = 500;
    cfg.retransmit_max_ms = 2000;
    cfg.retransmit_tries = 5;
    cfg.dpd_ms = 2000;
    cfg.keepalive_ms = 20000;
    cfg.restart_ms = 1000;
    cfg.force_encap = true;
    return cfg;
}

// One option with its value; false for an unknown one.
bool take_option(Options& o, char const* a, char const* v) {
    Config& cfg = o.cfg;
    if (strcmp(a, "--local") == 0)
        o.local = v;
    else if (strcmp(a, "--gw") == 0)
        o.gw = v;
    else if (strcmp(a, "--id") == 0)
        cfg.local_id = parse_id(v);
    else if (strcmp(a, "--remote-id") == 0)
        cfg.remote_id = parse_id(v);
    else if (strcmp(a, "--psk-file") == 0)
        o.psk_file = v;
    else if (strcmp(a, "--ca") == 0)
        o.ca = v;
    else if (strcmp(a, "--cert") == 0)
        o.cert = v;
    else if (strcmp(a, "--key") == 0)
        o.key = v;
    else if (strcmp(a, "--rx-delay-ms") == 0)
        g_rx_delay_ms = static_cast<u32>(atoi(v));
    else if (strcmp(a, "--fragment-mtu") == 0)
        cfg.fragment_mtu = static_cast<u16>(atoi(v));
    else if (strcmp(a, "--groups") == 0)
        parse_list(v, cfg.groups);
    else if (strcmp(a, "--key-bits") == 0)
        parse_list(v, cfg.key_bits);
    else if (strcmp(a, "--up-for") == 0)
        o.up_for = atof(v);
    else if (strcmp(a, "--deadline") == 0)
        o.deadline = atof(v);
    else if (strcmp(a, "--dpd") == 0)
        cfg.dpd_ms = static_cast<u32>(atoi(v));
    else if (strcmp(a, "--tun") == 0)
        o.tun = v;
    else if (strcmp(a, "--child-rekey") == 0)
        cfg.child_rekey_ms = static_cast<u32>(atoi(v));
    else if (strcmp(a, "--ike-rekey") == 0)
        cfg.ike_rekey_ms = static_cast<u32>(atoi(v));
    else
        return false;
    return true;
}

Options parse_args(int argc, char** argv) {
    Options o;
    o.cfg = default_config();
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--keep-trying") == 0) {
            o.keep_trying = true;
            continue;
        }
        if (strcmp(argv[i], "--rsa-pss") == 0) {  // an RSA key signs RSASSA-PSS (vpn/ike/pss.hpp)
            o.cfg.rsa_pss = true;
            continue;
        }
        if (i + 1 >= argc || !take_option(o, argv[i], argv[i + 1]))
            usage();
        ++i;
    }
    bool const cert = o.ca != nullptr && o.cert != nullptr && o.key != nullptr;
    if (o.local == nullptr || o.gw == nullptr || (o.psk_file == nullptr) == !cert ||
        inet_pton(AF_INET, o.local, &o.la) != 1 || inet_pton(AF_INET, o.gw, &o.ga) != 1)
        usage();
    memcpy(o.cfg.local_ip, &o.la, 4);
    memcpy(o.cfg.gateway_ip, &o.ga, 4);
    return o;
}

// The PSK file stands for the monitor's module: read into a buffer, handed over, wiped.
bool configure_with_psk(Initiator& ini, Options const& o) {
    u8 psk[256];
    int const pf = open(o.psk_file, O_RDONLY);
    ssize_t psk_len = pf < 0 ? -1 : read(pf, psk, sizeof psk);
    if (pf >= 0)
        close(pf);
    while (psk_len > 0 && (psk[psk_len - 1] == '\n' || psk[psk_len - 1] == '\r'))
        --psk_len;
    if (psk_len <= 0) {
        fprintf(stderr, "ike-client: cannot read the PSK from %s\n", o.psk_file);
        return false;
    }
    Status const st = ini.configure(o.cfg, psk, static_cast<size_t>(psk_len));
    crypto::secure_zero(psk, sizeof psk);
    return ok(st);
}

// A whole file (PEM or DER) into buf; its length, or 0.
size_t read_file(char const* path, u8* buf, size_t cap) {
    int const fd = open(path, O_RDONLY);
    ssize_t const n = fd < 0 ? -1 : read(fd, buf, cap);
    if (fd >= 0)
        close(fd);
    if (n <= 0 || static_cast<size_t>(n) == cap) {
        fprintf(stderr, "ike-client: cannot read %s\n", path);
        return 0;
    }
    return static_cast<size_t>(n);
}

// The key file stands for the monitor's module: read, handed to the signer, wiped by it.
bool configure_with_cert(Initiator& ini, Options const& o, FileSigner& signer) {
    static u8 ca[8192], cert[8192], key[8192];
    size_t const ca_len = read_file(o.ca, ca, sizeof ca);
    size_t const cert_len = read_file(o.cert, cert, sizeof cert);
    size_t const key_len = read_file(o.key, key, sizeof key);
    if (ca_len == 0 || cert_len == 0 || key_len == 0)
        return false;
    if (!ok(signer.load(cert, cert_len, key, key_len, crypto::Random{&fill_random, nullptr}))) {
        fprintf(stderr, "ike-client: %s and %s are not a certificate and its key\n", o.cert, o.key);
        return false;
    }
    return ok(ini.configure_cert(o.cfg, signer, ca, ca_len));
}

// IKE messages held back by --rx-delay-ms, in arrival order.
struct Held {
    u64 due;
    u16 port;
    size_t len;
    u8 data[4096];
};
Held g_held[16];
size_t g_held_count = 0;

void hold_or_deliver(Initiator& ini, u16 port, u8 const* data, size_t len) {
    if (g_rx_delay_ms == 0) {
        ini.on_datagram(port, data, len);
        return;
    }
    if (g_held_count == 16 || len > sizeof g_held[0].data)
        return;  // lost, as on a congested path
    Held& h = g_held[g_held_count++];
    h.due = mono_ms() + g_rx_delay_ms;
    h.port = port;
    h.len = len;
    memcpy(h.data, data, len);
}

void deliver_held(Initiator& ini) {
    while (g_held_count != 0 && g_held[0].due <= mono_ms()) {
        static Held h;
        h = g_held[0];
        for (size_t i = 1; i < g_held_count; ++i)
            g_held[i - 1] = g_held[i];
        --g_held_count;
        ini.on_datagram(h.port, h.data, h.len);
    }
}

// Every datagram waiting on fd: IKE to the initiator, ESP (on 4500) to the ESP side.
void drain(int fd, u16 port, in_addr ga, Initiator& ini, EspLink& esp) {
    static u8 buf[4096];
    for (;;) {
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        ssize_t const n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 0)
            return;
        if (from.sin_addr.s_addr != ga.s_addr)
            continue;
        if (port == kNattPort && n >= 4 && (buf[0] | buf[1] | buf[2] | buf[3]) != 0) {
            if (esp.from_gateway(buf, static_cast<size_t>(n)))
                ini.note_traffic();
            continue;
        }
        hold_or_deliver(ini, port, buf, static_cast<size_t>(n));
    }
}

int run(Initiator& ini, Udp& udp, EspLink& esp, Options const& o) {
    u64 const t_end = mono_ms() + static_cast<u64>(o.deadline * 1000);
    u64 up_at = 0;
    bool deleting = false;
    ini.start();
    for (;;) {
        pollfd fds[3] = {
            {udp.fd500, POLLIN, 0}, {udp.fd4500, POLLIN, 0}, {esp.tun_fd(), POLLIN, 0}};
        poll(fds, o.tun != nullptr ? 3 : 2, 20);
        drain(udp.fd500, kIkePort, o.ga, ini, esp);
        drain(udp.fd4500, kNattPort, o.ga, ini, esp);
        deliver_held(ini);
        if (o.tun != nullptr)
            esp.from_tun();
        ini.poll();
        State const s = ini.state();
        if (s == State::Established && up_at == 0) {
            up_at = mono_ms();
            printf("IKE_SA_UP spi_i=%016llx spi_r=%016llx group=%u\n",
                   static_cast<unsigned long long>(ini.spi_i()),
                   static_cast<unsigned long long>(ini.spi_r()), ini.group());
            fflush(stdout);
        }
        if (s == State::Failed && !o.keep_trying) {
            printf("FAILED %s\n", to_string(ini.last_error()));
            return 2;
        }
        if (s == State::Closed) {
            bool const clean = ini.last_error() == Error::None;
            printf("CLOSED%s%s\n", clean ? "" : " after ",
                   clean ? "" : to_string(ini.last_error()));
            return clean ? 0 : 4;
        }
        bool const time_up = up_at != 0 && mono_ms() - up_at >= static_cast<u64>(o.up_for * 1000);
        if (!deleting && (g_stop != 0 || time_up)) {
            deleting = true;
            ini.shutdown();
        }
        if (mono_ms() >= t_end) {
            printf("DEADLINE state=%s error=%s\n", to_string(s), to_string(ini.last_error()));
            return 3;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options const o = parse_args(argc, argv);
    static Udp udp;
    udp.fd500 = bind_udp(o.la, kIkePort);
    udp.fd4500 = bind_udp(o.la, kNattPort);
    udp.gw.sin_family = AF_INET;
    udp.gw.sin_addr = o.ga;
    static HostClock clock;
    static Printer printer;
    static EspLink esp{udp.fd4500, udp.gw};
    if (o.tun != nullptr) {
        if (!esp.open_tun(o.tun))
            return 1;
        printer.esp = &esp;
    }
    static Initiator ini{udp, clock, printer, crypto::Random{&fill_random, nullptr}};
    static FileSigner signer;
    if (o.psk_file != nullptr ? !configure_with_psk(ini, o) : !configure_with_cert(ini, o, signer))
        return 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    return run(ini, udp, esp, o);
}
