// libFuzzer harness for the ESP open path (vpn/esp) with a valid SA pair installed.
//
// Random bytes almost never pass the ICV, so most of the input is spent on packets that do:
// the script seals inner packets with the sender's SA, or encrypts a fuzzer-chosen plaintext
// body (trailer included) under a correct ICV, then mutates, truncates or replays them before
// the receiver opens them. That reaches the checks behind the ICV: padding, next header, the
// inner IPv4 header. Invariants: an Ok packet lies inside the buffer, is a consistent IPv4
// packet and was never opened before; every open lands in exactly one counter.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tests/unit/fuzz_input.hpp"
#include "vpn/esp.hpp"
#include "vpn/be.hpp"

using namespace tv;
using namespace tv::vpn;

namespace {

constexpr u64 kMax = 2048;

struct State {
    SaDb tx, rx;
    EspStats ts, rs;
    u64 opens{0};
    bool seen_ok[4096]{};  // sequence numbers that opened, below 4096

    State() {
        u8 km[40];
        for (u8 i = 0; i < sizeof km; ++i)
            km[i] = static_cast<u8>(i * 13 + 5);
        ChildSaSpec s;
        s.keymat = km, s.keymat_len = sizeof km, s.key_bytes = 16;
        s.spi_in = 0x1000, s.spi_out = 0x2000, s.initiator = true;
        check(ok(tx.install(s)), "install tx");
        s.spi_in = 0x2000, s.spi_out = 0x1000, s.initiator = false;
        check(ok(rx.install(s)), "install rx");
    }
    ~State() {
        tx.clear();
        rx.clear();
    }
};

u64 counted(EspStats const& s) {
    return s.opened + s.unknown_spi + s.truncated + s.replay + s.bad_icv + s.bad_padding +
        s.bad_next_header + s.bad_inner + s.dummy;
}

// A packet under a correct ICV with the fuzzer's body as plaintext.
u64 craft(State& st, u32 seq, u8 const* body, u64 body_len, u8* pkt) {
    ChildSa& sa = st.tx.outbound()->out;
    put_be32(pkt, sa.spi);
    put_be32(pkt + 4, seq);
    put_be64(pkt + 8, seq);
    u8 nonce[12];
    memcpy(nonce, sa.salt, 4);
    memcpy(nonce + 4, pkt + 8, 8);
    check(ok(sa.gcm.seal(nonce, pkt, 8, body, pkt + 16, body_len, pkt + 16 + body_len)), "craft");
    return 16 + body_len + 16;
}

void open_and_check(State& st, u8* pkt, u64 len) {
    u32 const seq = len >= 8 ? get_be32(pkt + 4) : 0;
    EspOpened const r = esp_open(st.rx, pkt, len, st.rs, 0);
    ++st.opens;
    check(counted(st.rs) == st.opens, "every open lands in one counter");
    if (r.verdict != EspVerdict::Ok)
        return;
    check(r.inner_off + r.inner_len <= len, "inner packet inside the buffer");
    check(r.inner_len >= kIpv4MinHeader, "inner packet has an IPv4 header");
    u8 const* in = pkt + r.inner_off;
    check((in[0] >> 4) == 4 && get_be16(in + 2) == r.inner_len, "inner packet is consistent IPv4");
    if (seq < 4096) {
        check(!st.seen_ok[seq], "a sequence number opened twice");
        st.seen_ok[seq] = true;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
    State st;
    Input in{data, size};
    static u8 pkt[kMax + 64], keep[kMax + 64], body[kMax];
    u64 keep_len = 0;
    for (int step = 0; step < 32 && in.n > 0; ++step) {
        u8 const op = in.take<u8>() % 5;
        u64 len = 0;
        if (op == 0) {  // raw bytes
            len = in.take<u16>() % kMax;
            for (u64 i = 0; i < len; ++i)
                pkt[i] = in.take<u8>();
        } else if (op == 1) {  // a sealed packet of our own
            u64 const n = 20 + in.take<u16>() % 1480;
            memset(body, in.take<u8>(), n);
            body[0] = 0x45;
            put_be16(body + 2, static_cast<u16>(n));
            SaLimit lim;
            if (!ok(esp_seal(*st.tx.outbound(), 0, body, n, pkt, sizeof pkt, &len, &lim, st.ts)))
                continue;
        } else if (op == 2) {  // a fuzzer-chosen plaintext under a correct ICV
            u32 const seq = in.take<u16>();
            u64 const n = in.take<u16>() % 1500;
            for (u64 i = 0; i < n; ++i)
                body[i] = in.take<u8>();
            len = craft(st, seq, body, n, pkt);
        } else if (op == 3 && keep_len > 0) {  // replay the kept packet
            memcpy(pkt, keep, keep_len);
            len = keep_len;
        } else {  // mutate the kept packet: flip a byte, cut it short
            if (keep_len == 0)
                continue;
            memcpy(pkt, keep, keep_len);
            len = keep_len;
            u16 const where = in.take<u16>();
            pkt[where % len] ^= in.take<u8>();
            len -= in.take<u8>() % 8 > 5 ? in.take<u16>() % len : 0;
        }
        memcpy(keep, pkt, len);
        keep_len = len;
        open_and_check(st, pkt, len);
    }
    return 0;
}
