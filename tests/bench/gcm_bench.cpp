// Throughput of ESP with AES-GCM (vpn/esp over crypto/gcm) on 1400-byte inner packets, host
// build, and of the bare GCM engines on 1400-byte messages.
//
//   gcm_bench [--seconds S] [--bytes N] [--key 16|32] [--interleave]
//
// Prints one JSON object per measurement:
//   {"what":"esp","engine":"aes-ni","op":"seal","bytes":...,"seconds":...,"gbps":...}
// bytes counts inner (plaintext) bytes. "esp" runs esp_seal / esp_open (header, nonce,
// padding, AAD, the replay window and the checks included); "gcm" runs Gcm::seal / open.
//
// --interleave runs ESP seal and open (AES-NI engine) and OpenSSL's EVP AES-GCM in alternating
// slices, so that both see the same load from the other programs on a shared machine. The
// OpenSSL side does what ESP needs per packet: set the IV, the 8-byte AAD, the data, the tag
// (engine "openssl-evp-aead"). Time is this thread's CPU time, as `openssl speed` measures.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/cpu_features.hpp"
#include "crypto/gcm.hpp"
#include "vpn/esp.hpp"
#include "vpn/be.hpp"

#if __has_include(<openssl/evp.h>)
#include <openssl/evp.h>
#define TV_HAVE_OPENSSL 1
#endif

using namespace tv;
using namespace tv::vpn;
using crypto::GcmEngine;

namespace {

double now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Result {
    u64 bytes{0};
    double seconds{0};
};

void print(char const* what, char const* engine, char const* op, Result r) {
    printf("{\"what\":\"%s\",\"engine\":\"%s\",\"op\":\"%s\",\"bytes\":%llu,\"seconds\":%.3f,"
           "\"gbps\":%.4f}\n",
           what, engine, op, static_cast<unsigned long long>(r.bytes), r.seconds,
           static_cast<double>(r.bytes) / r.seconds / 1e9);
    fflush(stdout);
}

void die(char const* why) {
    fprintf(stderr, "gcm_bench: %s\n", why);
    exit(1);
}

constexpr u32 kBatch = 64;
constexpr u64 kMaxPkt = 9000;

// Two ends of one child SA: `tx` seals, `rx` opens.
struct Ends {
    SaDb tx, rx;
    EspStats ts, rs;
    u8 inner[kMaxPkt];
    u8 pkts[kBatch][kMaxPkt + kEspMaxOverhead];
    u64 lens[kBatch];
    u64 n;

    Ends(u64 n_bytes, u64 key_bytes, GcmEngine engine) : n{n_bytes} {
        u8 km[72];
        for (u32 i = 0; i < sizeof km; ++i)
            km[i] = static_cast<u8>(i * 29 + 1);
        ChildSaSpec s;
        s.keymat = km, s.keymat_len = 2 * (key_bytes + 4), s.key_bytes = key_bytes,
        s.engine = engine;
        s.spi_in = 0x100, s.spi_out = 0x200, s.initiator = true;
        if (!ok(tx.install(s)))
            die("engine not available");
        s.spi_in = 0x200, s.spi_out = 0x100, s.initiator = false;
        if (!ok(rx.install(s)))
            die("engine not available");
        memset(inner, 0x5a, n);
        inner[0] = 0x45;
        put_be16(inner + 2, static_cast<u16>(n));
    }
    ~Ends() {
        tx.clear();
        rx.clear();
    }

    void seal_one(u8* out, u64* len) {
        SaLimit lim;
        if (!ok(esp_seal(*tx.outbound(), 0, inner, n, out, kMaxPkt + kEspMaxOverhead, len, &lim,
                         ts)))
            die("seal failed");
    }
    void seal_batch() {
        for (u32 i = 0; i < kBatch; ++i)
            seal_one(pkts[i], &lens[i]);
    }
    void open_batch() {
        for (u32 i = 0; i < kBatch; ++i)
            if (esp_open(rx, pkts[i], lens[i], rs, 0).verdict != EspVerdict::Ok)
                die("open failed");
    }
};

// ESP seal, then open, each timed alone (open needs fresh packets: sealing them is not timed).
void bench_esp(Ends& e, char const* engine, double seconds) {
    Result seal, open;
    u8 out[kMaxPkt + kEspMaxOverhead];
    u64 len;
    while (seal.seconds < seconds) {
        double const t = now();
        for (u32 i = 0; i < kBatch; ++i)
            e.seal_one(out, &len);
        seal.seconds += now() - t;
        seal.bytes += kBatch * e.n;
    }
    while (open.seconds < seconds) {
        e.seal_batch();
        double const t = now();
        e.open_batch();
        open.seconds += now() - t;
        open.bytes += kBatch * e.n;
    }
    print("esp", engine, "seal", seal);
    print("esp", engine, "open", open);
}

void bench_gcm(u64 n, u64 key_bytes, GcmEngine engine, double seconds) {
    u8 key[32], nonce[12] = {}, aad[8] = {1}, tag[16];
    static u8 buf[kMaxPkt];
    for (u32 i = 0; i < 32; ++i)
        key[i] = static_cast<u8>(i * 7 + 3);
    crypto::Gcm g;
    if (!ok(g.set_key(key, key_bytes, engine)))
        return;
    Result seal, open;
    while (seal.seconds < seconds) {
        double const t = now();
        for (u32 i = 0; i < kBatch; ++i)
            (void)g.seal(nonce, aad, 8, buf, buf, n, tag);
        seal.seconds += now() - t;
        seal.bytes += kBatch * n;
    }
    (void)g.seal(nonce, aad, 8, buf, buf, n, tag);
    while (open.seconds < seconds) {
        double const t = now();
        for (u32 i = 0; i < kBatch; ++i)  // a wrong tag after the first: the work is the same
            (void)g.open(nonce, aad, 8, buf, buf, n, tag);
        open.seconds += now() - t;
        open.bytes += kBatch * n;
    }
    g.wipe();
    print("gcm", crypto::engine_name(engine), "seal", seal);
    print("gcm", crypto::engine_name(engine), "open", open);
}

#ifdef TV_HAVE_OPENSSL
// One ESP-sized AEAD operation through EVP: IV, AAD, data, tag.
void evp_packet(EVP_CIPHER_CTX* ctx, bool enc, u8 const* iv, u8* buf, int n, u8* tag) {
    int outl = 0;
    u8 aad[8] = {0, 0, 1, 0, 0, 0, 0, 1};
    EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv, enc ? 1 : 0);
    EVP_CipherUpdate(ctx, nullptr, &outl, aad, 8);
    EVP_CipherUpdate(ctx, buf, &outl, buf, n);
    if (!enc)
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
    EVP_CipherFinal_ex(ctx, buf + n, &outl);
    if (enc)
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
}

void interleave(u64 n, u64 key_bytes, double seconds) {
    Ends e(n, key_bytes, GcmEngine::AesNi);
    u8 key[32] = {}, iv[12] = {}, tag[16] = {};
    static u8 buf[kMaxPkt + 64];
    EVP_CIPHER* const cipher = key_bytes == 32 ? const_cast<EVP_CIPHER*>(EVP_aes_256_gcm())
                                               : const_cast<EVP_CIPHER*>(EVP_aes_128_gcm());
    EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
    EVP_CipherInit_ex(enc, cipher, nullptr, key, iv, 1);
    EVP_CipherInit_ex(dec, cipher, nullptr, key, iv, 0);
    Result seal, open, theirs_seal, theirs_open;
    u8 out[kMaxPkt + kEspMaxOverhead];
    u64 len;
    int const len_i = static_cast<int>(n);
    while (seal.seconds < seconds || open.seconds < seconds) {
        double t = now();
        for (u32 i = 0; i < kBatch; ++i)
            e.seal_one(out, &len);
        seal.seconds += now() - t;
        t = now();
        for (u32 i = 0; i < kBatch; ++i, ++iv[11])
            evp_packet(enc, true, iv, buf, len_i, tag);
        theirs_seal.seconds += now() - t;
        e.seal_batch();
        t = now();
        e.open_batch();
        open.seconds += now() - t;
        t = now();
        for (u32 i = 0; i < kBatch; ++i)
            evp_packet(dec, false, iv, buf, len_i, tag);
        theirs_open.seconds += now() - t;
        seal.bytes += kBatch * n, open.bytes += kBatch * n;
        theirs_seal.bytes += kBatch * n, theirs_open.bytes += kBatch * n;
    }
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
    print("esp", "aes-ni/interleaved", "seal", seal);
    print("esp", "aes-ni/interleaved", "open", open);
    print("esp", "openssl-evp-aead/interleaved", "seal", theirs_seal);
    print("esp", "openssl-evp-aead/interleaved", "open", theirs_open);
}
#endif

int usage() {
    fprintf(stderr, "usage: gcm_bench [--seconds S] [--bytes N] [--key 16|32] [--interleave]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 1.0;
    u64 n = 1400, key_bytes = 16;
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
        else if (strcmp(argv[i], "--bytes") == 0)
            n = strtoull(argv[++i], nullptr, 0);
        else if (strcmp(argv[i], "--key") == 0)
            key_bytes = strtoull(argv[++i], nullptr, 0);
        else
            return usage();
    }
    if (seconds <= 0 || n < kIpv4MinHeader || n > kMaxPkt || (key_bytes != 16 && key_bytes != 32))
        return usage();
    if (interleaved) {
#ifdef TV_HAVE_OPENSSL
        interleave(n, key_bytes, seconds);
        return 0;
#else
        fprintf(stderr, "gcm_bench: built without OpenSSL headers, no --interleave\n");
        return 2;
#endif
    }
    bool const fast = crypto::cpu_has_aesni() && crypto::cpu_has_pclmul();
    if (fast) {
        static Ends ni(n, key_bytes, GcmEngine::AesNi);
        bench_esp(ni, "aes-ni", seconds);
    }
    static Ends mb(n, key_bytes, GcmEngine::MbedTls);
    bench_esp(mb, "mbedtls", seconds);
    if (fast)
        bench_gcm(n, key_bytes, GcmEngine::AesNi, seconds);
    bench_gcm(n, key_bytes, GcmEngine::MbedTls, seconds);
    return 0;
}
