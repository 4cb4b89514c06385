#include "card/t1.hpp"

#include <string.h>

#include "crypto/secure_zero.hpp"

namespace tv::card {

namespace {

constexpr u8 kPcbR = 0x80, kPcbS = 0xc0, kPcbMore = 0x20, kPcbSResponse = 0x20;
constexpr u8 kSIfs = 1, kSWtx = 3;
constexpr u32 kMaxRetries = 3;   // a damaged or unexpected block asked for again
constexpr u32 kMaxSRequests = 32;  // WTX and IFS requests answered in one exchange
constexpr u32 kMaxBlocks = 64;     // blocks one answer may come in

u8 lrc(u8 const* b, u32 n) {
    u8 x = 0;
    for (u32 i = 0; i < n; ++i)
        x = static_cast<u8>(x ^ b[i]);
    return x;
}

u8 i_pcb(bool ns, bool more) { return static_cast<u8>((ns ? 0x40 : 0) | (more ? kPcbMore : 0)); }
u8 r_pcb(bool nr, u8 error) { return static_cast<u8>(kPcbR | (nr ? 0x10 : 0) | (error & 3)); }

}  // namespace

u32 t1_build(u8 pcb, u8 const* inf, u32 len, u8* out, u32 cap) {
    if (len > kT1MaxInf || cap < len + 4 || (len != 0 && inf == nullptr))
        return 0;
    out[0] = 0;
    out[1] = pcb;
    out[2] = static_cast<u8>(len);
    if (len != 0)
        memcpy(out + 3, inf, len);
    out[3 + len] = lrc(out, 3 + len);
    return len + 4;
}

bool t1_parse(u8 const* b, u32 n, T1Block& out) {
    out = T1Block{};
    if (b == nullptr || n < 4 || b[0] != 0 || b[2] == 255 || n != u32{b[2]} + 4 || lrc(b, n - 1) != b[n - 1])
        return false;
    u8 const pcb = b[1];
    out.pcb = pcb;
    out.inf = b + 3;
    out.len = b[2];
    if ((pcb & 0x80) == 0) {
        out.kind = T1Kind::I;
        out.seq = (pcb & 0x40) != 0;
        out.more = (pcb & kPcbMore) != 0;
        return (pcb & 0x1f) == 0;
    }
    if ((pcb & 0xc0) == kPcbR) {
        out.kind = T1Kind::R;
        out.seq = (pcb & 0x10) != 0;
        out.error = pcb & 3;
        return (pcb & 0x2c) == 0 && out.len == 0;
    }
    out.kind = T1Kind::S;
    out.s_response = (pcb & kPcbSResponse) != 0;
    out.s_type = pcb & 0x1f;
    return out.s_type <= kSWtx;
}

T1Transport::~T1Transport() { wipe(); }

void T1Transport::wipe() {
    crypto::secure_zero(tx_, sizeof tx_);
    crypto::secure_zero(rx_, sizeof rx_);
    crypto::secure_zero(s_answer_, sizeof s_answer_);
    tx_len_ = 0;
}

bool T1Transport::fail(char const* why) {
    error_ = why;
    wipe();
    return false;
}

bool T1Transport::build(u8 pcb, u8 const* inf, u32 len) {
    tx_len_ = t1_build(pcb, inf, len, tx_, sizeof tx_);
    return tx_len_ != 0;
}

bool T1Transport::exchange(T1Block& reply) {
    u8 const* out = tx_;
    u32 out_len = tx_len_;
    u32 retries = 0, requests = 0;
    for (;;) {
        u32 got = 0;
        if (!lower_.transmit(out, out_len, rx_, sizeof rx_, got))
            return fail("the reader failed");
        if (!t1_parse(rx_, got, reply)) {
            if (++retries > kMaxRetries)
                return fail("damaged blocks from the card");
            // 11.6.2.3 rule 7.1: an R-block naming the block expected from the card.
            u32 const n = t1_build(r_pcb(nr_, 1), nullptr, 0, s_answer_, sizeof s_answer_);
            out = s_answer_;
            out_len = n;
            continue;
        }
        if (reply.kind != T1Kind::S)
            return true;
        if (reply.s_response || (reply.s_type != kSWtx && reply.s_type != kSIfs) || ++requests > kMaxSRequests)
            return fail("an S-block we do not handle (RESYNCH, ABORT or too many requests)");
        if (reply.s_type == kSIfs && (reply.len != 1 || reply.inf[0] == 0 || reply.inf[0] == 255))
            return fail("a malformed S(IFS request)");
        if (reply.s_type == kSIfs)
            ifsc_ = reply.inf[0] > kT1MaxInf ? static_cast<u8>(kT1MaxInf) : reply.inf[0];
        // S(WTX response) or S(IFS response) with the request's INF; the card goes on.
        u32 const n = t1_build(static_cast<u8>(kPcbS | kPcbSResponse | reply.s_type), reply.inf, reply.len, s_answer_,
                               sizeof s_answer_);
        out = s_answer_;
        out_len = n;
    }
}

bool T1Transport::send_chunks(u8 const* cmd, u32 len, T1Block& first_answer) {
    for (u32 sent = 0;;) {
        u32 const n = len - sent < ifsc_ ? len - sent : ifsc_;
        bool const more = sent + n < len;
        if (!build(i_pcb(ns_, more), cmd + sent, n))
            return fail("a block does not fit");
        T1Block reply;
        u32 tries = 0;
        for (;;) {
            if (!exchange(reply))
                return false;
            bool const asks_again = reply.kind == T1Kind::R && reply.seq == ns_;
            if (asks_again && ++tries <= kMaxRetries)
                continue;  // the card did not get our block: the same block again (tx_ unchanged)
            break;
        }
        if (more) {
            if (reply.kind != T1Kind::R || reply.seq == ns_)
                return fail("the card did not acknowledge a chained block");
            ns_ = !ns_;
            sent += n;
            continue;
        }
        if (reply.kind != T1Kind::I)
            return fail("the card answered the command with no I-block");
        ns_ = !ns_;
        first_answer = reply;
        return true;
    }
}

bool T1Transport::collect(T1Block b, u8* answer, u32 cap, u32& answer_len) {
    for (u32 blocks = 0; blocks < kMaxBlocks; ++blocks) {
        if (b.kind != T1Kind::I)
            return fail("the card broke off its answer");
        if (b.seq != nr_) {
            // A repeat of a block we already have: acknowledge what we expect next.
            if (!build(r_pcb(nr_, 0), nullptr, 0) || !exchange(b))
                return false;
            continue;
        }
        if (answer_len + b.len > cap)
            return fail("the answer is longer than the buffer");
        memcpy(answer + answer_len, b.inf, b.len);
        answer_len += b.len;
        nr_ = !nr_;
        if (!b.more) {
            wipe();
            return true;
        }
        if (!build(r_pcb(nr_, 0), nullptr, 0) || !exchange(b))
            return false;
    }
    return fail("the answer comes in too many blocks");
}

bool T1Transport::transmit(u8 const* cmd, u32 len, u8* answer, u32 cap, u32& answer_len) {
    answer_len = 0;
    error_ = "";
    T1Block first;
    if (cmd == nullptr || len == 0 || !send_chunks(cmd, len, first))
        return error_[0] != 0 ? false : fail("an empty command");
    return collect(first, answer, cap, answer_len);
}

}  // namespace tv::card
