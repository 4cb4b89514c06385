// Keyslot files on disk, passphrase input, randomness and PBKDF2 calibration for the tool.
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "crypto/kdf.hpp"
#include "crypto/secure_zero.hpp"
#include "tools/thinvisor-disk/cli.hpp"
#include "tools/thinvisor-disk/io.hpp"

namespace tv::disk {

using namespace tv::crypto;

namespace {

constexpr u64 kMaxPassphrase = 4096;

int read_passphrase_file(std::string const& path, Secret& out) {
    std::vector<u8> buf;
    int const rc = read_small_file(path, kMaxPassphrase, buf);
    if (rc != 0)
        return fail(kFailed, path + ": " + (rc == EFBIG ? std::string{"passphrase file is larger than 4 KiB"}
                                                        : std::string{strerror(rc)}));
    // One trailing newline is what `echo pass > file` adds; it is not part of the passphrase.
    if (!buf.empty() && buf.back() == '\n')
        buf.pop_back();
    if (!buf.empty() && buf.back() == '\r')
        buf.pop_back();
    if (buf.empty())
        return fail(kUsage, path + ": the passphrase is empty");
    out = Secret{std::move(buf)};
    return kOk;
}

// One line from the terminal with echo off.
int read_tty_line(int tty, char const* prompt, Secret& out) {
    termios old{};
    bool const have_termios = tcgetattr(tty, &old) == 0;
    if (have_termios) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    (void)!write(tty, prompt, strlen(prompt));
    std::vector<u8> line;
    line.reserve(kMaxPassphrase);  // never reallocated: no stray copies
    char c = 0;
    while (line.size() < kMaxPassphrase && read(tty, &c, 1) == 1 && c != '\n')
        line.push_back(static_cast<u8>(c));
    secure_zero(&c, sizeof c);
    if (have_termios)
        tcsetattr(tty, TCSAFLUSH, &old);
    (void)!write(tty, "\n", 1);
    if (line.empty())
        return fail(kUsage, "the passphrase is empty");
    out = Secret{std::move(line)};
    return kOk;
}

bool fill_random(void*, u8* out, u64 n) {
    while (n > 0) {
        ssize_t const got = getrandom(out, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        out += got;
        n -= static_cast<u64>(got);
    }
    return true;
}

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

Secret::~Secret() {
    if (!bytes_.empty())
        secure_zero(bytes_.data(), bytes_.size());
}

Secret& Secret::operator=(Secret&& o) noexcept {
    if (!bytes_.empty())
        secure_zero(bytes_.data(), bytes_.size());
    bytes_ = std::move(o.bytes_);
    return *this;
}

char const* g_program = "thinvisor-disk";

int fail(int code, std::string const& message) {
    fprintf(stderr, "%s: %s\n", g_program, message.c_str());
    return code;
}

int load_keyslots(std::string const& path, Keyslots& out) {
    std::vector<u8> buf;
    // One byte more than the format: the parser then reports trailing data, or a bad magic
    // for a file that is not a keyslot file at all.
    int const rc = read_small_file(path, kKsFileBytes + 1, buf);
    if (rc != 0 && rc != EFBIG)
        return fail(rc == ENOENT ? kBadKeyslots : kFailed, path + ": " + strerror(rc));
    u32 bad_slot = 0;
    KsError const e = parse_keyslots(buf.data(), buf.size(), out, &bad_slot);
    if (e == KsError::BadSlot)
        return fail(kBadKeyslots, path + ": " + describe(e) + " (slot " + std::to_string(bad_slot) + ")");
    if (e != KsError::Ok)
        return fail(kBadKeyslots, path + ": " + describe(e));
    return kOk;
}

int store_keyslots(std::string const& path, Keyslots const& ks, bool replace) {
    struct stat st{};
    if (!replace && lstat(path.c_str(), &st) == 0)
        return fail(kUsage, path + ": exists; use --force to replace it (its keys are then lost)");
    KsFileDisk image;
    serialize_keyslots(ks, image);
    int const rc = write_file_atomically(path, reinterpret_cast<u8 const*>(&image), sizeof image, 0600);
    return rc == 0 ? kOk : fail(kFailed, path + ": " + strerror(rc));
}

int read_passphrase(std::string const& file, char const* prompt, bool confirm, Secret& out) {
    if (!file.empty())
        return read_passphrase_file(file, out);
    int const tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0)
        return fail(kUsage, "no terminal to ask for the passphrase on: use --passphrase-file");
    int rc = read_tty_line(tty, prompt, out);
    if (rc == kOk && confirm) {
        Secret again;
        rc = read_tty_line(tty, "Repeat the passphrase: ", again);
        if (rc == kOk && !(again == out))
            rc = fail(kUsage, "the passphrases differ");
    }
    close(tty);
    return rc;
}

int unlock(Keyslots const& ks, Secret const& pass, MasterKey& mk, u32* slot) {
    KsError const e = ks_unlock(ks, pass.data(), pass.size(), mk, slot);
    switch (e) {
    case KsError::Ok:
        return kOk;
    case KsError::WrongPassphrase:
        return fail(kWrongPassphrase, describe(e));
    case KsError::HeaderMismatch:
        return fail(kBadKeyslots, describe(e));
    default:
        return fail(kFailed, describe(e));
    }
}

Random host_random() { return Random{&fill_random, nullptr}; }

u32 choose_iterations(Options const& o) {
    if (o.iterations != 0)
        return o.iterations;
    // Time a fixed number of iterations on this CPU (thread CPU time: other programs running
    // at the same time must not make the count too small), then scale.
    constexpr u32 kProbe = 20000;
    u8 out[32];
    u8 const salt[32] = {};
    double const t0 = cpu_seconds();
    if (!pbkdf2_sha256(reinterpret_cast<u8 const*>("calibrate"), 9, salt, sizeof salt, kProbe, out, sizeof out))
        return kKsMinIterations;
    double const per_iteration = (cpu_seconds() - t0) / kProbe;
    double want = per_iteration > 0 ? o.iter_time_ms / 1000.0 / per_iteration : kKsMaxIterations;
    if (want < kKsMinIterations)
        want = kKsMinIterations;
    if (want > kKsMaxIterations)
        want = kKsMaxIterations;
    return static_cast<u32>(want);
}

}  // namespace tv::disk
