// aoe-client: the thinvisor AoE initiator (aoe/, the same sources the monitor builds) driven
// from a Linux host through a raw socket. For tests against real targets (vblade) and for
// moving disk images. Run `aoe-client --help`.
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "aoe/host/raw_socket.hpp"
#include "aoe/initiator.hpp"

using namespace tv;
using namespace tv::aoe;

namespace {

constexpr u32 kChunkSectors = 128;  // one submitted request
constexpr u32 kDepth = 8;           // requests kept pending, so the window never runs dry

struct Options {
    char const* ifname{nullptr};
    u16 shelf{0};
    u8 slot{0};
    bool target_set{false};
    u32 window{0};
    u32 mtu{0};
    double deadline_s{60};
    double rto_min_ms{5};
    double rto_max_ms{2000};
    double discover_s{5};
    double wait_s{1};
    bool ext{false};
    bool stats{false};
    bool progress{false};
    bool verbose{false};
};

void usage(FILE* out) {
    fprintf(out,
            "usage: aoe-client [options] IFACE COMMAND [ARGS]\n"
            "commands:\n"
            "  discover             list the targets answering a broadcast Query Config\n"
            "  info                 size and identity of the target\n"
            "  read LBA COUNT       COUNT sectors from LBA to stdout\n"
            "  write LBA            stdin (whole sectors) to the disk from LBA\n"
            "  copy-out IMG         the whole disk into the file IMG\n"
            "  copy-in IMG          the file IMG onto the disk from sector 0\n"
            "options:\n"
            "  -t, --target S.N     shelf.slot (required except for discover)\n"
            "  -w, --window N       at most N frames in flight (default: target's buffers)\n"
            "  -m, --mtu N          frame size to use (default: the interface's MTU)\n"
            "  -d, --deadline SEC   fail a request whose frame is unanswered this long (60)\n"
            "      --rto-min MS     retransmission timeout bounds (5, 2000)\n"
            "      --rto-max MS\n"
            "      --ext            48-bit commands even below 2^28\n"
            "      --discover-timeout SEC  give up finding the target (5)\n"
            "      --wait SEC       how long discover listens (1)\n"
            "  -s, --stats          counters and throughput on stderr at the end\n"
            "  -p, --progress       progress lines on stderr\n"
            "  -v, --verbose        every initiator event on stderr\n");
}

[[noreturn]] void die(char const* fmt, char const* arg = "") {
    fprintf(stderr, "aoe-client: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

u64 parse_u64(char const* s, char const* what) {
    char* end = nullptr;
    errno = 0;
    unsigned long long const v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || *s == '-')
        die("bad %s", what);
    return v;
}

double parse_double(char const* s, char const* what) {
    char* end = nullptr;
    double const v = strtod(s, &end);
    if (end == s || *end != '\0' || v < 0)
        die("bad %s", what);
    return v;
}

void parse_target(char const* s, Options& o) {
    unsigned shelf = 0, slot = 0;
    char tail = 0;
    if (sscanf(s, "%u.%u%c", &shelf, &slot, &tail) != 2 || shelf >= kAnyShelf || slot >= kAnySlot)
        die("bad target '%s' (want SHELF.SLOT)", s);
    o.shelf = static_cast<u16>(shelf);
    o.slot = static_cast<u8>(slot);
    o.target_set = true;
}

int parse_options(int argc, char** argv, Options& o) {
    enum { kRtoMin = 1000, kRtoMax, kExt, kDiscover, kWait };
    static option const longs[] = {
        {"target", required_argument, nullptr, 't'}, {"window", required_argument, nullptr, 'w'},
        {"mtu", required_argument, nullptr, 'm'},    {"deadline", required_argument, nullptr, 'd'},
        {"rto-min", required_argument, nullptr, kRtoMin},
        {"rto-max", required_argument, nullptr, kRtoMax},
        {"ext", no_argument, nullptr, kExt},
        {"discover-timeout", required_argument, nullptr, kDiscover},
        {"wait", required_argument, nullptr, kWait},  {"stats", no_argument, nullptr, 's'},
        {"progress", no_argument, nullptr, 'p'},      {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},          {nullptr, 0, nullptr, 0},
    };
    for (int c; (c = getopt_long(argc, argv, "+t:w:m:d:spvh", longs, nullptr)) != -1;) {
        switch (c) {
        case 't': parse_target(optarg, o); break;
        case 'w': o.window = static_cast<u32>(parse_u64(optarg, "window")); break;
        case 'm': o.mtu = static_cast<u32>(parse_u64(optarg, "mtu")); break;
        case 'd': o.deadline_s = parse_double(optarg, "deadline"); break;
        case kRtoMin: o.rto_min_ms = parse_double(optarg, "rto-min"); break;
        case kRtoMax: o.rto_max_ms = parse_double(optarg, "rto-max"); break;
        case kExt: o.ext = true; break;
        case kDiscover: o.discover_s = parse_double(optarg, "discover-timeout"); break;
        case kWait: o.wait_s = parse_double(optarg, "wait"); break;
        case 's': o.stats = true; break;
        case 'p': o.progress = true; break;
        case 'v': o.verbose = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        exit(2);
    }
    o.ifname = argv[optind++];
    return optind;
}

u64 us(double seconds) { return static_cast<u64>(seconds * 1e6); }

void print_mac(FILE* f, Mac const& m) {
    fprintf(f, "%02x:%02x:%02x:%02x:%02x:%02x", m.b[0], m.b[1], m.b[2], m.b[3], m.b[4], m.b[5]);
}

// ---- discover: the frame layer alone, since any number of targets may answer ----

int cmd_discover(Options const& o, host::RawSocket& sock) {
    host::MonotonicClock clock;
    Frame q{};
    q.dst = kBroadcastMac;
    q.src = sock.mac();
    q.shelf = o.target_set ? o.shelf : kAnyShelf;
    q.slot = o.target_set ? o.slot : kAnySlot;
    q.command = Command::QueryConfig;
    q.tag = static_cast<u32>(getpid());
    q.config.aoe_version = kVersion;
    static u8 buf[65536];
    size_t len = 0;
    if (!ok(build_frame(q, buf, sizeof buf, &len)) || !ok(sock.send(buf, len)))
        die("cannot send the Query Config");
    struct Seen { Mac mac; u16 shelf; u8 slot; };
    std::vector<Seen> seen;
    u64 const end = clock.now_us() + us(o.wait_s);
    for (u64 now = clock.now_us(); now < end; now = clock.now_us()) {
        long const n = sock.receive(buf, sizeof buf, end - now);
        Frame f{};
        if (n <= 0 || parse_frame(buf, static_cast<size_t>(n), &f) != ParseResult::Ok ||
            f.command != Command::QueryConfig || (f.flags & kFlagResponse) == 0 ||
            (f.flags & kFlagError) != 0 || f.dst != sock.mac())
            continue;
        bool dup = false;
        for (Seen const& s : seen)
            dup = dup || (s.mac == f.src && s.shelf == f.shelf && s.slot == f.slot);
        if (dup)
            continue;
        seen.push_back(Seen{f.src, f.shelf, f.slot});
        printf("e%u.%u mac=", f.shelf, f.slot);
        print_mac(stdout, f.src);
        printf(" buffers=%u firmware=0x%04x max_sectors=%u config='%.*s'\n", f.config.buffer_count,
               f.config.firmware, f.config.max_sectors, static_cast<int>(f.payload_len),
               f.payload_len != 0 ? reinterpret_cast<char const*>(f.payload) : "");
        fflush(stdout);
    }
    if (seen.empty())
        fprintf(stderr, "aoe-client: no target answered on %s\n", o.ifname);
    return seen.empty() ? 1 : 0;
}

// ---- the initiator on the host ----

struct Session {
    Options const& opt;
    host::RawSocket& sock;
    host::MonotonicClock clock;
    Initiator ini;
    u64 log_lines{0};

    static void on_log(void* ctx, LogRecord const& r) {
        auto* s = static_cast<Session*>(ctx);
        // Progress events only with -v; refusals and failures always (within a cap).
        bool const noisy = r.event == Event::Retransmit || r.event == Event::TargetFound ||
                           r.event == Event::Ready;
        if ((noisy && !s->opt.verbose) || (++s->log_lines > 200 && !s->opt.verbose))
            return;
        fprintf(stderr, "aoe-client: %s", event_name(r.event));
        if (r.event == Event::Refused)
            fprintf(stderr, " %s", refusal_name(r.refusal));
        fprintf(stderr, " tag=0x%08x value=%llu\n", r.tag, static_cast<unsigned long long>(r.value));
    }

    void bring_up() {
        Config c{};
        c.local_mac = sock.mac();
        c.shelf = opt.shelf;
        c.slot = opt.slot;
        c.mtu = opt.mtu != 0 ? opt.mtu : sock.mtu();
        if (c.mtu > Initiator::kMaxMtu)
            c.mtu = Initiator::kMaxMtu;
        c.max_window = opt.window;
        c.rto_min_us = us(opt.rto_min_ms / 1000);
        c.rto_max_us = us(opt.rto_max_ms / 1000);
        c.deadline_us = us(opt.deadline_s);
        c.always_lba48 = opt.ext;
        if (!ok(ini.init(c, sock, clock)))
            die("invalid settings (mtu, rto bounds or target)");
        ini.set_log(&Session::on_log, this);
        ini.start();
        u64 const end = clock.now_us() + us(opt.discover_s);
        while (ini.state() != State::Ready && clock.now_us() < end)
            turn(20'000);
        if (ini.state() != State::Ready) {
            fprintf(stderr, "aoe-client: no answer from e%u.%u on %s within %.1f s\n", opt.shelf,
                    opt.slot, opt.ifname, opt.discover_s);
            exit(1);
        }
    }

    void turn(u64 max_wait_us) {
        if (!host::step(ini, sock, clock, max_wait_us))
            die("socket error");
    }

    void print_stats() const;
};

void Session::print_stats() const {
    Counters const& c = ini.counters();
    fprintf(stderr,
            "aoe-client: stats tx_frames=%llu tx_errors=%llu retransmits=%llu announcements=%llu "
            "rx_frames=%llu accepted=%llu ignored=%llu refused=%llu ata_errors=%llu "
            "deadline_failures=%llu requests_done=%llu requests_failed=%llu window=%u "
            "sectors_per_frame=%u srtt_us=%llu rttvar_us=%llu rto_us=%llu\n",
            static_cast<unsigned long long>(c.tx_frames), static_cast<unsigned long long>(c.tx_errors),
            static_cast<unsigned long long>(c.retransmits),
            static_cast<unsigned long long>(c.announcements),
            static_cast<unsigned long long>(c.rx_frames), static_cast<unsigned long long>(c.accepted),
            static_cast<unsigned long long>(c.ignored),
            static_cast<unsigned long long>(c.refused_total()),
            static_cast<unsigned long long>(c.ata_errors),
            static_cast<unsigned long long>(c.deadline_failures),
            static_cast<unsigned long long>(c.requests_done),
            static_cast<unsigned long long>(c.requests_failed), ini.window(), ini.sectors_per_frame(),
            static_cast<unsigned long long>(ini.rtt().srtt_us()),
            static_cast<unsigned long long>(ini.rtt().rttvar_us()),
            static_cast<unsigned long long>(ini.rtt().rto_us()));
    fprintf(stderr, "aoe-client: refused");
    for (size_t i = 0; i < kRefusalCount; ++i)
        fprintf(stderr, " %s=%llu", refusal_name(static_cast<Refusal>(i)),
                static_cast<unsigned long long>(c.refused[i]));
    fprintf(stderr, "\n");
}

int cmd_info(Session& s) {
    Target const& t = s.ini.target();
    IdentifyInfo const& id = s.ini.identify();
    printf("target e%u.%u mac=", t.shelf, t.slot);
    print_mac(stdout, t.mac);
    printf(" sectors=%llu bytes=%llu lba48=%s buffers=%u firmware=0x%04x max_sectors=%u\n",
           static_cast<unsigned long long>(id.sectors),
           static_cast<unsigned long long>(id.sectors * kSectorSize), id.lba48 ? "yes" : "no",
           t.buffer_count, t.firmware, t.max_sectors);
    printf("model='%s' serial='%s' firmware='%s' window=%u sectors_per_frame=%u\n", id.model,
           id.serial, id.firmware, s.ini.window(), s.ini.sectors_per_frame());
    return 0;
}

// ---- block transfers: a ring of kDepth chunks, completed in any order, retired in order ----

struct Chunk {
    std::vector<u8> buf = std::vector<u8>(kChunkSectors * kSectorSize);
    u64 lba{0};
    u32 count{0};
    int state{0};  // 0 free, 1 submitted, 2 done
    Result result{};

    static void done(void* ctx, Result const& r) {
        auto* c = static_cast<Chunk*>(ctx);
        c->result = r;
        c->state = 2;
    }
};

char const* outcome_text(Result const& r) {
    switch (r.outcome) {
    case Outcome::Ok: return "ok";
    case Outcome::TimedOut: return "timed out (deadline)";
    case Outcome::TargetError: return "target refused the command";
    case Outcome::DeviceError: return "device error";
    case Outcome::Aborted: return "aborted";
    }
    return "?";
}

// Reads fill chunks from the disk and go to fd in order; writes fill chunks from fd. A write
// of unknown length (a pipe) ends at end of input.
struct Transfer {
    Session& s;
    Op op;
    int fd;
    u64 next_lba;
    u64 end_lba;
    bool input_done{false};
    u64 bytes{0};

    bool fill(Chunk& c) {
        u64 const left = end_lba - next_lba;
        c.lba = next_lba;
        c.count = static_cast<u32>(left < kChunkSectors ? left : kChunkSectors);
        if (op == Op::Write) {
            size_t got = 0, want = size_t{c.count} * kSectorSize;
            while (got < want) {
                ssize_t const n = read(fd, c.buf.data() + got, want - got);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0)
                    die("read input: %s", strerror(errno));
                if (n == 0)
                    break;
                got += static_cast<size_t>(n);
            }
            if (got % kSectorSize != 0)
                die("input is not a whole number of 512-byte sectors");
            c.count = static_cast<u32>(got / kSectorSize);
            if (got < want)
                input_done = true;
            char extra = 0;
            if (got == want && next_lba + c.count == end_lba && read(fd, &extra, 1) > 0)
                die("the input runs past the end of the disk");
            if (c.count == 0)
                return false;
        }
        next_lba += c.count;
        input_done = input_done || next_lba == end_lba;
        IoRequest const req{op, c.lba, c.count, c.buf.data(), &Chunk::done, &c};
        if (!ok(s.ini.submit(req)))
            die("submit refused (range past the end of the disk?)");
        c.state = 1;
        return true;
    }

    void retire(Chunk& c) {
        if (c.result.outcome != Outcome::Ok) {
            fprintf(stderr, "aoe-client: %s failed at sector %llu: %s\n",
                    op == Op::Read ? "read" : "write", static_cast<unsigned long long>(c.result.lba),
                    outcome_text(c.result));
            if (s.opt.stats)
                s.print_stats();
            exit(1);
        }
        size_t const n = size_t{c.count} * kSectorSize;
        for (size_t off = 0; op == Op::Read && off < n;) {
            ssize_t const w = write(fd, c.buf.data() + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                die("write output: %s", strerror(errno));
            off += static_cast<size_t>(w);
        }
        bytes += n;
        c.state = 0;
    }

    void run() {
        std::vector<Chunk> ring(kDepth);
        u64 submitted = 0, retired = 0, last_progress = 0;
        input_done = next_lba >= end_lba;
        while (!input_done || retired < submitted) {
            while (!input_done && ring[submitted % kDepth].state == 0 && fill(ring[submitted % kDepth]))
                ++submitted;
            s.turn(10'000);
            while (retired < submitted && ring[retired % kDepth].state == 2)
                retire(ring[retired++ % kDepth]);
            u64 const now = s.clock.now_us();
            if (s.opt.progress && now - last_progress > 100'000) {
                fprintf(stderr, "aoe-client: progress %llu\n", static_cast<unsigned long long>(bytes));
                last_progress = now;
            }
        }
    }
};

int transfer(Session& s, Op op, int fd, u64 lba, u64 count) {
    if (lba > s.ini.sectors() || count > s.ini.sectors() - lba)
        die("range past the end of the disk");
    Transfer t{s, op, fd, lba, lba + count};
    u64 const t0 = s.clock.now_us();
    t.run();
    double const secs = static_cast<double>(s.clock.now_us() - t0) / 1e6;
    if (s.opt.stats)
        fprintf(stderr, "aoe-client: %s %llu bytes in %.3f s = %.1f MB/s\n",
                op == Op::Read ? "read" : "wrote", static_cast<unsigned long long>(t.bytes), secs,
                secs > 0 ? static_cast<double>(t.bytes) / 1e6 / secs : 0.0);
    return 0;
}

int open_image(char const* path, bool output) {
    int const fd = output ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                          : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("cannot open %s", path);
    return fd;
}

int run_command(Session& s, char const* cmd, int argc, char** argv) {
    auto need = [&](int n) {
        if (argc != n)
            die("wrong number of arguments for %s", cmd);
    };
    if (strcmp(cmd, "info") == 0)
        return need(0), cmd_info(s);
    if (strcmp(cmd, "read") == 0) {
        need(2);
        u64 const lba = parse_u64(argv[0], "LBA");
        return transfer(s, Op::Read, STDOUT_FILENO, lba, parse_u64(argv[1], "COUNT"));
    }
    if (strcmp(cmd, "write") == 0) {
        need(1);
        u64 const lba = parse_u64(argv[0], "LBA");
        if (lba >= s.ini.sectors())
            die("LBA past the end of the disk");
        return transfer(s, Op::Write, STDIN_FILENO, lba, s.ini.sectors() - lba);  // up to EOF
    }
    if (strcmp(cmd, "copy-out") == 0) {
        need(1);
        return transfer(s, Op::Read, open_image(argv[0], true), 0, s.ini.sectors());
    }
    if (strcmp(cmd, "copy-in") == 0) {
        need(1);
        int const fd = open_image(argv[0], false);
        struct stat st{};
        if (fstat(fd, &st) != 0 || st.st_size % static_cast<off_t>(kSectorSize) != 0)
            die("%s is not a whole number of 512-byte sectors", argv[0]);
        return transfer(s, Op::Write, fd, 0, static_cast<u64>(st.st_size) / kSectorSize);
    }
    die("unknown command '%s'", cmd);
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    int const first = parse_options(argc, argv, opt);
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    char const* cmd = argv[first];
    host::RawSocket sock;
    if (!ok(sock.open(opt.ifname)))
        die("%s", sock.error());
    if (strcmp(cmd, "discover") == 0)
        return cmd_discover(opt, sock);
    if (!opt.target_set)
        die("%s needs --target SHELF.SLOT", cmd);
    Session s{opt, sock, {}, {}, 0};
    s.bring_up();
    int const rc = run_command(s, cmd, argc - first - 1, argv + first + 1);
    if (opt.stats)
        s.print_stats();
    return rc;
}
