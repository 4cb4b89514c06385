// Fakes for the smart-card tests: a CAC card as libcacard emulates it (APDU level, with its
// T=0 habit of answering "61 xx" when a command carries no Le), and a CCID reader in front of
// it as QEMU's usb-ccid (64-byte bulk packets). The card's RSA key is test_oaep's key.
#pragma once

#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <stdlib.h>
#include <string.h>

#include <deque>
#include <string>
#include <vector>

#include "card/apdu.hpp"
#include "card/ccid.hpp"
#include "card/ccid_reader.hpp"
#include "tests/unit/prng.hpp"
#include "tests/unit/test_oaep_vectors.hpp"

namespace tv::card::test {

using Bytes = std::vector<u8>;

inline int fake_rng(void* ctx, unsigned char* out, size_t n) {
    auto* prng = static_cast<tv::test::Prng*>(ctx);
    for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<unsigned char>(prng->next());
    return 0;
}

// The SimpleTLV buffers of a PKI applet holding cert: CertInfo (0x71, 1 byte 0), Certificate
// (0x70, long form FF LL LL), MSCUID (0x72, 0), error detection (0xFE, 0). Each buffer has
// its 2-byte LE length first.
inline void cac_buffers(Bytes const& cert, Bytes& tl, Bytes& value, u8 certinfo = 0) {
    Bytes t = {0x71, 0x01, 0x70};
    if (cert.size() < 0xff) {
        t.push_back(static_cast<u8>(cert.size()));
    } else {
        t.push_back(0xff);
        t.push_back(static_cast<u8>(cert.size()));
        t.push_back(static_cast<u8>(cert.size() >> 8));
    }
    t.insert(t.end(), {0x72, 0x00, 0xfe, 0x00});
    Bytes v = {certinfo};
    v.insert(v.end(), cert.begin(), cert.end());
    tl = {static_cast<u8>(t.size()), static_cast<u8>(t.size() >> 8)};
    tl.insert(tl.end(), t.begin(), t.end());
    value = {static_cast<u8>(v.size()), static_cast<u8>(v.size() >> 8)};
    value.insert(value.end(), v.begin(), v.end());
}

// A fake card's answer handed out as CardTransport::transmit gives it; false if it does not fit.
inline bool give_answer(Bytes const& out, u8* answer, u32 cap, u32& answer_len) {
    if (out.size() > cap)
        return false;
    memcpy(answer, out.data(), out.size());
    answer_len = static_cast<u32>(out.size());
    return true;
}

class FakeCac final : public CardTransport {
  public:
    std::string pin = "123456";
    int tries_reported = -1;    // >= 0: VERIFY answers 63 Cx with this count
    bool logged_in = false;
    bool present = true;
    Bytes certs[3];
    std::vector<Bytes> commands;  // every command seen
    Bytes last_result;            // the last raw RSA result it gave (the OAEP-encoded block)

    FakeCac() {
        mbedtls_pk_init(&pk_);
        if (mbedtls_pk_parse_key(&pk_, reinterpret_cast<u8 const*>(crypto::oaep_vectors::kKeyPem),
                                 sizeof crypto::oaep_vectors::kKeyPem, nullptr, 0) != 0)
            abort();
        for (u32 i = 0; i < 3; ++i) {
            certs[i].assign(900 + 50 * i, 0);
            for (size_t j = 0; j < certs[i].size(); ++j)
                certs[i][j] = static_cast<u8>(j * 13 + i);
        }
    }
    ~FakeCac() override { mbedtls_pk_free(&pk_); }
    mbedtls_rsa_context* rsa() { return mbedtls_pk_rsa(pk_); }

    bool transmit(u8 const* cmd, u32 len, u8* answer, u32 cap, u32& answer_len) override {
        if (!present)
            return false;
        commands.emplace_back(cmd, cmd + len);
        return give_answer(process(Bytes(cmd, cmd + len)), answer, cap, answer_len);
    }

  private:
    static Bytes sw(u16 s) { return {static_cast<u8>(s >> 8), static_cast<u8>(s)}; }

    // libcacard's vcard_response_new: data longer than Le waits for GET RESPONSE.
    Bytes respond(Bytes const& data, u32 le) {
        if (data.size() > le) {
            pending_ = data;
            return sw(static_cast<u16>(0x6100 | (data.size() > 255 ? 0 : data.size())));
        }
        Bytes r = data;
        r.push_back(0x90);
        r.push_back(0x00);
        return r;
    }

    Bytes process(Bytes const& c) {
        if (c.size() < 4)
            return sw(0x6700);
        u8 const ins = c[1], p1 = c[2], p2 = c[3];
        u32 lc = 0, le = 0;
        Bytes body;
        if (c.size() == 5) {
            le = c[4] ? c[4] : 256;
        } else if (c.size() > 5) {
            lc = c[4];
            if (c.size() != 5 + lc && c.size() != 6 + lc)
                return sw(0x6700);
            body.assign(c.begin() + 5, c.begin() + 5 + lc);
            if (c.size() == 6 + lc)
                le = c[5 + lc] ? c[5 + lc] : 256;
        }
        if (ins != 0xc0)
            pending_.clear();
        switch (ins) {
        case 0xc0: {  // GET RESPONSE
            if (pending_.empty())
                return sw(0x6a88);
            u32 const n = le < pending_.size() ? le : static_cast<u32>(pending_.size());
            Bytes r(pending_.begin(), pending_.begin() + n);
            pending_.erase(pending_.begin(), pending_.begin() + n);
            if (!pending_.empty()) {
                r.push_back(0x61);
                r.push_back(static_cast<u8>(pending_.size() > 255 ? 0 : pending_.size()));
            } else {
                r.push_back(0x90);
                r.push_back(0x00);
            }
            return r;
        }
        case 0xa4:  // SELECT by AID
            if (p1 != 0x04 || lc != 7 || memcmp(body.data(), "\xa0\x00\x00\x00\x79\x01", 6) != 0 || body[6] > 2)
                return sw(0x6a82);
            applet_ = body[6];
            sign_.clear();
            return respond({0x6f, 0x0b, 0x84, 0x07}, le);
        case 0x52: {  // READ BUFFER
            if (applet_ < 0 || lc != 2)
                return sw(0x6984);
            Bytes tl, value;
            cac_buffers(certs[applet_], tl, value);
            Bytes const& buf = body[0] == 1 ? tl : value;
            u32 const off = static_cast<u32>(p1 << 8 | p2);
            if (off > buf.size())
                return sw(0x6a86);
            u32 const n = body[1] < buf.size() - off ? body[1] : static_cast<u32>(buf.size() - off);
            return respond(Bytes(buf.begin() + off, buf.begin() + off + n), le);
        }
        case 0x20:  // VERIFY
            if (lc == 0)
                return tries_reported >= 0 ? sw(static_cast<u16>(0x63c0 | tries_reported)) : sw(0x6a88);
            {
                std::string got(body.begin(), body.end());
                while (!got.empty() && static_cast<u8>(got.back()) == 0xff)
                    got.pop_back();
                logged_in = got == pin;
                if (logged_in)
                    return sw(0x9000);
                if (tries_reported > 0)
                    --tries_reported;
                // libcacard (vcard_emul_login): 69 85, conditions of use not satisfied
                return tries_reported >= 0 ? sw(static_cast<u16>(0x63c0 | tries_reported)) : sw(0x6985);
            }
        case 0x42: {  // SIGN/DECRYPT: raw RSA
            if (applet_ < 0 || p2 != 0)
                return sw(0x6a86);
            sign_.insert(sign_.end(), body.begin(), body.end());
            if (p1 == 0x80)
                return sw(0x9000);
            Bytes in = sign_;
            sign_.clear();
            if (!logged_in)
                return sw(0x6982);
            if (in.size() != 256)
                return sw(0x6700);
            Bytes out(256);
            tv::test::Prng prng{1};
            if (mbedtls_rsa_private(rsa(), fake_rng, &prng, in.data(), out.data()) != 0)
                return sw(0x6f00);
            last_result = out;
            return respond(out, le);
        }
        default:
            return sw(0x6d00);
        }
    }

    mbedtls_pk_context pk_;
    int applet_ = -1;
    Bytes pending_;
    Bytes sign_;
};

// QEMU's usb-ccid in front of a card: CCID messages in, answers out in 64-byte packets.
class FakeReaderPipe final : public BulkPipe {
  public:
    explicit FakeReaderPipe(CardTransport& card) : card_{card} {}
    Bytes atr = {0x3b, 0x89, 0x00, 'V', 'C', 'A', 'R', 'D', '_', 'N', 'S', 'S'};
    bool present = true;
    u32 time_extensions = 0;   // answer each XfrBlock this many times with "time extension" first
    bool stale_answer = false; // put an answer with an old sequence number before the next one
    bool cut_answers = false;  // end answers early with a short packet
    bool zlp = true;           // QEMU: an answer of whole packets is followed by a zero-length packet

    bool bulk_out(u8 const* data, u32 len) override {
        if (len < kCcidHeaderBytes)
            return false;
        u8 const type = data[0], slot = data[5], seq = data[6];
        Bytes body(data + kCcidHeaderBytes, data + len);
        if (stale_answer)
            queue(0x81, slot, static_cast<u8>(seq - 1), 0, {});
        u8 const icc = present ? 0 : 2;
        switch (type) {
        case 0x62:
            queue(0x80, slot, seq, present ? 0 : 0x42, present ? atr : Bytes{});
            break;
        case 0x63:
        case 0x65:
            queue(0x81, slot, seq, icc, {});
            break;
        case 0x6f: {
            for (u32 i = 0; i < time_extensions; ++i)
                queue(0x80, slot, seq, static_cast<u8>(0x80 | icc), {});
            u8 answer[600];
            u32 n = 0;
            if (!present || !card_.transmit(body.data(), static_cast<u32>(body.size()), answer, sizeof answer, n))
                queue(0x80, slot, seq, static_cast<u8>(0x40 | (present ? 0 : 2)), {});
            else
                queue(0x80, slot, seq, 0, Bytes(answer, answer + n));
            break;
        }
        default:
            queue(0x81, slot, seq, 0x40, {});
        }
        return true;
    }
    bool bulk_in(u8* buf, u32 cap, u32& got) override {
        if (packets_.empty())
            return false;
        Bytes p = packets_.front();
        packets_.pop_front();
        if (p.size() > cap)
            return false;
        if (!p.empty())
            memcpy(buf, p.data(), p.size());
        got = static_cast<u32>(p.size());
        return true;
    }
    u32 max_packet() const override { return 64; }

  private:
    void queue(u8 type, u8 slot, u8 seq, u8 status, Bytes const& data) {
        Bytes m = {type, static_cast<u8>(data.size()), static_cast<u8>(data.size() >> 8), 0, 0, slot, seq, status, 0, 0};
        m.insert(m.end(), data.begin(), data.end());
        if (cut_answers && m.size() > 64)
            m.resize(64 + 5);
        for (size_t at = 0; at < m.size(); at += 64)
            packets_.emplace_back(m.begin() + at, m.begin() + std::min(m.size(), at + 64));
        if (zlp && m.size() % 64 == 0)
            packets_.emplace_back();
    }
    CardTransport& card_;
    std::deque<Bytes> packets_;
};

}  // namespace tv::card::test
