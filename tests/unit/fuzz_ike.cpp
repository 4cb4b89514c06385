// libFuzzer target for the IKE message layer: an arbitrary datagram from a responder is
// parsed (or, with a leading 0xFF byte, one payload body is decoded alone), every payload decoded
// by its type (CERT/CERTREQ bodies and RFC 7427 AUTH data included; the X.509 inside a CERT is
// fuzz_ike_cert's), an SK or SKF payload opened with a fixed key (almost always refused: the check is
// that refusing never reads out of bounds), and the fragments fed to a reassembly. Invariants:
// every payload lies inside the message and decoded pointers inside their payload.
#include <stddef.h>

#include "tests/unit/fuzz_input.hpp"
#include "vpn/ike/cert.hpp"
#include "vpn/ike/message.hpp"
#include "vpn/ike/payloads.hpp"
#include "vpn/ike/sk.hpp"

using namespace tv;
using namespace tv::vpn::ike;

namespace {

bool inside(u8 const* p, size_t n, u8 const* lo, size_t len) {
    return p >= lo && p + n <= lo + len;
}

void decode_all(u8 const* buf, PayloadList const& pl) {
    for (u8 i = 0; i < pl.count; ++i) {
        PayloadRef const& r = pl.item[i];
        u8 const* b = buf + r.off;
        switch (static_cast<Payload>(r.type)) {
            case Payload::SA: {
                Chosen c{};
                if (decode_sa_reply(b, r.len, c) == ParseError::Ok)
                    (void)chosen_matches(Offer{Protocol::Ike, 0, {256, 128}, {31, 19, 14}}, c);
                break;
            }
            case Payload::KE: {
                u16 g = 0;
                u8 const* d = nullptr;
                size_t dl = 0;
                if (decode_ke(b, r.len, g, d, dl) == ParseError::Ok)
                    check(inside(d, dl, b, r.len), "KE data inside its payload");
                break;
            }
            case Payload::Notify: {
                Notify n{};
                if (decode_notify(b, r.len, n) == ParseError::Ok)
                    check(
                        inside(n.data, n.data_len, b, r.len) && inside(n.spi, n.spi_len, b, r.len),
                        "notify inside");
                break;
            }
            case Payload::AUTH: {
                u8 m = 0;
                u8 const* d = nullptr;
                size_t dl = 0;
                if (decode_auth(b, r.len, m, d, dl) == ParseError::Ok) {
                    check(inside(d, dl, b, r.len), "AUTH data inside its payload");
                    SigScheme s{};
                    u8 const* sig = nullptr;
                    size_t sl = 0;
                    if (decode_signature_auth(d, dl, s, sig, sl) == CertCheck::Ok)
                        check(inside(sig, sl, d, dl), "signature inside the AUTH data");
                }
                break;
            }
            case Payload::CERT:
            case Payload::CERTREQ: {
                u8 enc = 0;
                u8 const* d = nullptr;
                size_t dl = 0;
                if (decode_cert(b, r.len, enc, d, dl) == ParseError::Ok)
                    check(inside(d, dl, b, r.len) && dl + 1 == r.len, "CERT data inside");
                break;
            }
            case Payload::TSi:
            case Payload::TSr: {
                Ts4 ts[kMaxTs];
                u8 n = 0, skipped = 0;
                if (decode_ts(b, r.len, ts, n, skipped) == ParseError::Ok)
                    check(n <= kMaxTs, "selector count bounded");
                break;
            }
            case Payload::CP: {
                CpReply c{};
                (void)decode_cp(b, r.len, c);
                break;
            }
            case Payload::Delete: {
                Delete d{};
                if (decode_delete(b, r.len, d) == ParseError::Ok)
                    check(inside(d.spis, size_t{d.spi_size} * d.count, b, r.len),
                          "delete SPIs inside");
                break;
            }
            case Payload::Nonce:
                (void)decode_nonce(b, r.len);
                break;
            default:
                break;
        }
    }
}

// Input 0xFF, type, body: one payload body decoded alone, in a buffer of exactly its size, so
// that every length a decoder trusts wrongly reads past the end where ASan sees it.
void decode_one(u8 const* data, size_t size) {
    size_t const n = size - 2;
    u8* const body = static_cast<u8*>(malloc(n == 0 ? 1 : n));
    memcpy(body, data + 2, n);
    PayloadList one{};
    one.count = 1;
    one.item[0] = {data[1], 0, static_cast<u16>(n)};
    decode_all(body, one);
    free(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    static Reassembly reasm;
    if (size > kMaxMessage)
        return 0;
    if (size >= 2 && data[0] == 0xff) {
        decode_one(data, size);
        return 0;
    }
    // The parser's contract: a private copy. Exactly the message's size, so that ASan sees any
    // read past its end.
    u8* const msg = static_cast<u8*>(malloc(size == 0 ? 1 : size));
    memcpy(msg, data, size);
    if (size > 1) {  // the input as a decrypted inner chain too: its first byte is the first type
        PayloadList inner{};
        if (parse_chain(msg, 1, size, msg[0], inner) == ParseError::Ok)
            decode_all(msg, inner);
    }
    Header h{};
    PayloadList pl{};
    if (parse_message(msg, size, h, pl) != ParseError::Ok) {
        free(msg);
        return 0;
    }
    for (u8 i = 0; i < pl.count; ++i)
        check(pl.item[i].off >= kHeaderBytes && pl.item[i].off + pl.item[i].len <= size,
              "payload inside message");
    decode_all(msg, pl);
    SkKey k{};
    k.key_len = 16;
    for (u8 i = 0; i < pl.count; ++i) {
        u8* plain = nullptr;
        size_t plen = 0;
        if (pl.item[i].type == static_cast<u8>(Payload::SK)) {
            if (open_sk(msg, pl.item[i], k, plain, plen) == ParseError::Ok) {
                check(inside(plain, plen, msg, size), "plaintext inside message");
                PayloadList inner{};
                if (parse_chain(plain, 0, plen, pl.inner_first, inner) == ParseError::Ok)
                    decode_all(plain, inner);
            }
        } else if (pl.item[i].type == static_cast<u8>(Payload::SKF)) {
            u16 num = 0, total = 0;
            if (open_skf(msg, pl.item[i], k, num, total, plain, plen) == ParseError::Ok &&
                reasm.add(h.msg_id, num, total, pl.inner_first, plain, plen) ==
                    Reassembly::Result::Complete)
                check(reasm.size() <= Reassembly::kCapacity, "reassembly bounded");
        }
    }
    free(msg);
    return 0;
}
