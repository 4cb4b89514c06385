// Throughput of crypto/xts (both engines) on whole data units, the way `openssl speed -evp
// aes-256-xts -bytes N` measures OpenSSL: one call per data unit, the same buffer every time
// (it stays in the L1 cache, so this is the cipher's speed, not the memory's).
//
//   xts_bench [--seconds S] [--unit BYTES] [--engine aes-ni|mbedtls|all] [--interleave]
//
// Prints one JSON object per engine and direction:
//   {"engine":"aes-ni","op":"encrypt","unit":4096,"bytes":...,"seconds":...,"gbps":...}
//
// --interleave compares the AES-NI engine with OpenSSL's EVP aes-256-xts (libcrypto, the code
// `openssl speed -evp` runs) in alternating slices of 64 data units, so both see the same
// load from other programs; engines "aes-ni/interleaved" and "openssl-evp/interleaved".
// Separate runs on a shared two-vCPU machine differ by up to 30% from one minute to the next.
// gbps is 10^9 bytes per second, the unit OpenSSL reports in (1000s of bytes per second).
// Time is this thread's CPU time, as `openssl speed` measures by default (user time, unless
// -elapsed): on a shared machine wall time would count the other programs' turns too.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/cpu_features.hpp"
#include "crypto/xts.hpp"

#if __has_include(<openssl/evp.h>)
#include <openssl/evp.h>
#define TV_HAVE_OPENSSL 1
#endif

using namespace tv;
using namespace tv::crypto;

namespace {

double now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Result {
    u64 bytes;
    double seconds;
};

void print(char const* engine, bool encrypt, u64 unit, Result r) {
    printf("{\"engine\":\"%s\",\"op\":\"%s\",\"unit\":%llu,\"bytes\":%llu,\"seconds\":%.3f,"
           "\"gbps\":%.4f}\n",
           engine, encrypt ? "encrypt" : "decrypt", static_cast<unsigned long long>(unit),
           static_cast<unsigned long long>(r.bytes), r.seconds, static_cast<double>(r.bytes) / r.seconds / 1e9);
    fflush(stdout);
}

Result run(Xts& xts, bool encrypt, u64 unit, double seconds) {
    alignas(64) static u8 buf[1 << 20];
    for (u64 i = 0; i < unit; ++i)
        buf[i] = static_cast<u8>(i * 131 + 7);
    u64 sector = 0;
    u64 units = 0;
    double const start = now();
    double elapsed = 0;
    do {
        for (int i = 0; i < 256; ++i, ++sector, ++units) {
            Status const s = encrypt ? xts.encrypt_sectors(Lba{sector}, unit, buf, buf, 1)
                                     : xts.decrypt_sectors(Lba{sector}, unit, buf, buf, 1);
            if (!ok(s)) {
                fprintf(stderr, "xts_bench: the cipher failed\n");
                exit(1);
            }
        }
        elapsed = now() - start;
    } while (elapsed < seconds);
    return Result{units * unit, elapsed};
}

void bench(XtsEngine engine, u64 unit, double seconds) {
    u8 key[kXtsKeyBytes];
    for (u64 i = 0; i < sizeof key; ++i)
        key[i] = static_cast<u8>(i * 29 + 1);
    Xts xts;
    if (!ok(xts.set_key(key, engine))) {
        fprintf(stderr, "xts_bench: engine %s is not available here\n", engine_name(engine));
        return;
    }
    for (int pass = 0; pass < 2; ++pass) {
        bool const encrypt = pass == 0;
        print(engine_name(engine), encrypt, unit, run(xts, encrypt, unit, seconds));
    }
}

#ifdef TV_HAVE_OPENSSL
// Slices of 64 units, ours then OpenSSL's, until each has had `seconds` of CPU time.
void interleave(bool encrypt, u64 unit, double seconds) {
    alignas(64) static u8 buf[1 << 20];
    u8 key[kXtsKeyBytes];
    for (u64 i = 0; i < sizeof key; ++i)
        key[i] = static_cast<u8>(i * 29 + 1);
    Xts xts;
    if (!ok(xts.set_key(key, XtsEngine::AesNi)))
        return;
    u8 iv[16] = {};
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), nullptr, key, iv, encrypt ? 1 : 0);
    Result ours{0, 0};
    Result theirs{0, 0};
    u64 sector = 0;
    int outl = 0;
    int const len = static_cast<int>(unit);
    while (ours.seconds < seconds || theirs.seconds < seconds) {
        double t = now();
        for (int i = 0; i < 64; ++i, ++sector)
            (void)(encrypt ? xts.encrypt_sectors(Lba{sector}, unit, buf, buf, 1)
                           : xts.decrypt_sectors(Lba{sector}, unit, buf, buf, 1));
        ours.seconds += now() - t;
        t = now();
        for (int i = 0; i < 64; ++i)  // like openssl speed: one EVP call per data unit, same IV
            EVP_CipherUpdate(ctx, buf, &outl, buf, len);
        theirs.seconds += now() - t;
        ours.bytes += 64 * unit;
        theirs.bytes += 64 * unit;
    }
    EVP_CIPHER_CTX_free(ctx);
    print("aes-ni/interleaved", encrypt, unit, ours);
    print("openssl-evp/interleaved", encrypt, unit, theirs);
}
#endif

int usage() {
    fprintf(stderr, "usage: xts_bench [--seconds S] [--unit BYTES] [--engine aes-ni|mbedtls|all] [--interleave]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 2.0;
    u64 unit = 4096;
    char const* which = "all";
    bool interleaved = false;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--interleave") == 0) {
            interleaved = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--unit") == 0)
            unit = strtoull(argv[++i], nullptr, 0);
        else if (strcmp(argv[i], "--engine") == 0)
            which = argv[++i];
        else
            return usage();
    }
    if (seconds <= 0 || unit < 16 || unit % 16 != 0 || unit > (1u << 20))
        return usage();
    if (interleaved) {
#ifdef TV_HAVE_OPENSSL
        interleave(true, unit, seconds);
        interleave(false, unit, seconds);
        return 0;
#else
        fprintf(stderr, "xts_bench: built without OpenSSL headers, no --interleave\n");
        return 2;
#endif
    }
    bool const all = strcmp(which, "all") == 0;
    if (all || strcmp(which, "aes-ni") == 0)
        bench(XtsEngine::AesNi, unit, seconds);
    if (all || strcmp(which, "mbedtls") == 0)
        bench(XtsEngine::MbedTls, unit, seconds);
    return 0;
}
