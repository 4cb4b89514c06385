// A check of the Card seam (card/card.hpp), not a PIV feature: a second card type, shaped like a
// PIV card (NIST SP 800-73-4), written only against the interfaces card_unlock and CacCard use
// (Card over ApduChannel over a CardTransport). Where PIV differs from CAC it differs here:
// one applet (AID A0 00 00 03 08) with four key references (9A, 9C, 9D, 9E) instead of one
// applet per key; certificates in data objects read with GET DATA (53 { 70 cert, 71 info,
// FE }); VERIFY with P2 = 80; the RSA operation as GENERAL AUTHENTICATE (INS 87, dynamic
// authentication template 7C { 82 00, 81 challenge }), whose 266 bytes go in two commands
// chained with CLA bit 0x10 and whose 264-byte answer comes back through GET RESPONSE.
//
// FakePivApplet answers like such a card (the key of test_oaep on reference 9D, the others
// empty); MiniPiv is the smallest Card that drives it. If card_unlock or the APDU layer ever
// assumed CAC, the test built on these (test_card_unlock.cpp) would stop compiling or passing.
#pragma once

#include <mbedtls/rsa.h>

#include "card/apdu.hpp"
#include "card/card.hpp"
#include "tests/unit/test_ccid_fakes.hpp"

namespace tv::card::test {

inline constexpr u8 kPivKeyRefs[4] = {0x9a, 0x9c, 0x9d, 0x9e};
inline constexpr u8 kPivObjects[4] = {0x05, 0x0a, 0x0b, 0x01};  // 5F C1 xx for each key's certificate

class FakePivApplet final : public CardTransport {
  public:
    Bytes cert;  // key 9D's certificate
    std::string pin = "24680135";
    int tries = 3;
    bool logged_in = false;
    u32 general_authenticates = 0;  // the last command of each chain
    u32 chained_commands = 0;       // commands with CLA bit 0x10 (more follows)

    explicit FakePivApplet(mbedtls_rsa_context* rsa) : rsa_{rsa} {
        cert.assign(1100, 0);
        for (size_t i = 0; i < cert.size(); ++i)
            cert[i] = static_cast<u8>(i * 7 + 3);
    }
    bool transmit(u8 const* cmd, u32 len, u8* answer, u32 cap, u32& answer_len) override {
        return give_answer(process(Bytes(cmd, cmd + len)), answer, cap, answer_len);
    }

  private:
    static Bytes sw(u16 s) { return {static_cast<u8>(s >> 8), static_cast<u8>(s)}; }
    static void put_len(Bytes& b, size_t n) {
        if (n < 0x80) {
            b.push_back(static_cast<u8>(n));
        } else {
            b.push_back(0x82);
            b.push_back(static_cast<u8>(n >> 8));
            b.push_back(static_cast<u8>(n));
        }
    }
    // Data beyond what one answer carries waits for GET RESPONSE (T=0 at TPDU level).
    Bytes respond(Bytes const& data) {
        pending_ = data;
        return next_chunk(256);
    }
    Bytes next_chunk(u32 le) {
        u32 const n = le < pending_.size() ? le : static_cast<u32>(pending_.size());
        Bytes r(pending_.begin(), pending_.begin() + n);
        pending_.erase(pending_.begin(), pending_.begin() + n);
        u16 const s = pending_.empty() ? 0x9000 : static_cast<u16>(0x6100 | (pending_.size() > 255 ? 0 : pending_.size()));
        r.push_back(static_cast<u8>(s >> 8));
        r.push_back(static_cast<u8>(s));
        return r;
    }

    Bytes process(Bytes const& c) {
        if (c.size() < 4)
            return sw(0x6700);
        u8 const cla = c[0], ins = c[1], p1 = c[2], p2 = c[3];
        Bytes body;
        u32 le = 0;
        if (c.size() == 5)
            le = c[4] ? c[4] : 256;
        else if (c.size() > 5)
            body.assign(c.begin() + 5, c.begin() + 5 + c[4]);
        if (ins == 0xc0)
            return pending_.empty() ? sw(0x6985) : next_chunk(le);
        pending_.clear();
        if ((cla & 0x10) != 0) {  // command chaining: keep the data for the last command
            if (ins != 0x87)
                return sw(0x6884);
            ++chained_commands;
            chain_.insert(chain_.end(), body.begin(), body.end());
            return sw(0x9000);
        }
        switch (ins) {
        case 0xa4:  // SELECT by AID
            selected_ = p1 == 0x04 && body.size() >= 5 && body[0] == 0xa0 && body[4] == 0x08;
            return selected_ ? respond({0x61, 0x03, 0x4f, 0x01, 0x00}) : sw(0x6a82);
        case 0xcb: {  // GET DATA 3F FF, 5C 03 5F C1 xx
            if (!selected_ || p1 != 0x3f || p2 != 0xff || body.size() != 5 || body[0] != 0x5c)
                return sw(0x6a80);
            if (body[4] != kPivObjects[2])
                return sw(0x6a82);
            Bytes inner = {0x70};
            put_len(inner, cert.size());
            inner.insert(inner.end(), cert.begin(), cert.end());
            inner.insert(inner.end(), {0x71, 0x01, 0x00, 0xfe, 0x00});
            Bytes obj = {0x53};
            put_len(obj, inner.size());
            obj.insert(obj.end(), inner.begin(), inner.end());
            return respond(obj);
        }
        case 0x20:  // VERIFY, P2 80: the PIV card application PIN
            if (p2 != 0x80)
                return sw(0x6a88);
            if (body.empty())
                return logged_in ? sw(0x9000) : sw(static_cast<u16>(0x63c0 | tries));
            if (tries == 0)
                return sw(0x6983);
            {
                std::string got(body.begin(), body.end());
                while (!got.empty() && static_cast<u8>(got.back()) == 0xff)
                    got.pop_back();
                logged_in = got == pin;
            }
            if (logged_in) {
                tries = 3;
                return sw(0x9000);
            }
            --tries;
            return sw(static_cast<u16>(0x63c0 | tries));
        case 0x87: {  // GENERAL AUTHENTICATE, RSA 2048 (07), key 9D
            ++general_authenticates;
            chain_.insert(chain_.end(), body.begin(), body.end());
            Bytes const t = chain_;
            chain_.clear();
            if (p1 != 0x07 || p2 != 0x9d)
                return sw(0x6a86);
            if (!logged_in)
                return sw(0x6982);
            // 7C 82 01 08 { 82 00, 81 82 01 00 <256 bytes> }
            if (t.size() != 4 + 2 + 4 + 256 || t[0] != 0x7c || t[4] != 0x82 || t[6] != 0x81)
                return sw(0x6a80);
            Bytes out(256);
            tv::test::Prng prng{2};
            if (mbedtls_rsa_private(rsa_, fake_rng, &prng, t.data() + 10, out.data()) != 0)
                return sw(0x6f00);
            Bytes r = {0x7c, 0x82, 0x01, 0x04, 0x82, 0x82, 0x01, 0x00};
            r.insert(r.end(), out.begin(), out.end());
            return respond(r);
        }
        default:
            return sw(0x6d00);
        }
    }

    mbedtls_rsa_context* rsa_;
    bool selected_ = false;
    Bytes pending_, chain_;
};

// The Card for it, in the shape CacCard has: Card's five operations and nothing else.
class MiniPiv final : public Card {
  public:
    explicit MiniPiv(ApduChannel& ch) : ch_{ch} {}
    u32 key_count() const override { return 4; }

    CardStatus read_certificate(u32 key, u8* out, u32 cap, u32& len) override {
        if (CardStatus const s = select(); s != CardStatus::Ok)
            return s;
        u8 const tag[5] = {0x5c, 0x03, 0x5f, 0xc1, kPivObjects[key]};
        CardStatus const s = run(Apdu{0x00, 0xcb, 0x3f, 0xff, tag, 5, 256, true});
        if (s != CardStatus::Ok)
            return s;
        // 53 L { 70 L cert ... }: lengths of one byte or 82 xx xx, as the fake writes them
        u8 const* p = ch_.data();
        u32 at = 0, n = 0;
        if (!tlv(p, ch_.len(), at, 0x53, n) || !tlv(p, ch_.len(), at, 0x70, n) || n > cap)
            return CardStatus::BadAnswer;
        memcpy(out, p + at, n);
        len = n;
        return CardStatus::Ok;
    }
    CardStatus pin_tries(int& tries_left) override {
        tries_left = kTriesUnknown;
        CardStatus const s = run(Apdu{0x00, 0x20, 0x00, 0x80});
        if ((sw_ & 0xfff0) == 0x63c0)
            tries_left = sw_ & 0x0f;
        return (sw_ & 0xfff0) == 0x63c0 ? CardStatus::Ok : s;
    }
    CardStatus verify_pin(u8 const* pin, u32 len, int& tries_left) override {
        tries_left = kTriesUnknown;
        u8 padded[8];
        memset(padded, 0xff, sizeof padded);
        memcpy(padded, pin, len);
        CardStatus const s = run(Apdu{0x00, 0x20, 0x00, 0x80, padded, 8});
        memset(padded, 0, sizeof padded);
        ch_.wipe();
        if ((sw_ & 0xfff0) == 0x63c0) {
            tries_left = sw_ & 0x0f;
            return tries_left == 0 ? CardStatus::PinBlocked : CardStatus::WrongPin;
        }
        return sw_ == 0x6983 ? CardStatus::PinBlocked : s;
    }
    CardStatus private_op(u32 key, u8 const* in, u32 len, u8* out) override {
        if (key != 2 || len != 256)
            return CardStatus::NotSupported;
        u8 t[10 + 256] = {0x7c, 0x82, 0x01, 0x08, 0x82, 0x00, 0x81, 0x82, 0x01, 0x00};
        memcpy(t + 10, in, len);
        CardStatus s = run(Apdu{0x10, 0x87, 0x07, kPivKeyRefs[key], t, kApduMaxData});
        if (s == CardStatus::Ok)
            s = run(Apdu{0x00, 0x87, 0x07, kPivKeyRefs[key], t + kApduMaxData, sizeof t - kApduMaxData, 256, true});
        memset(t, 0, sizeof t);
        u8 const* p = ch_.data();
        u32 at = 0, n = 0;
        if (s == CardStatus::Ok && (!tlv(p, ch_.len(), at, 0x7c, n) || !tlv(p, ch_.len(), at, 0x82, n) || n != len))
            s = CardStatus::BadAnswer;
        if (s == CardStatus::Ok)
            memcpy(out, p + at, len);
        ch_.wipe();
        return s;
    }

  private:
    CardStatus select() {
        static constexpr u8 kAid[5] = {0xa0, 0x00, 0x00, 0x03, 0x08};
        return run(Apdu{0x00, 0xa4, 0x04, 0x00, kAid, 5, 256, true});
    }
    CardStatus run(Apdu const& a) {
        sw_ = 0;
        if (ch_.exchange(a, sw_) != ApduResult::Ok)
            return CardStatus::TransportFailed;
        if (sw_ == kSwOk)
            return CardStatus::Ok;
        if (sw_ == 0x6a82)
            return CardStatus::NotFound;
        if (sw_ == 0x6982)
            return CardStatus::NeedsPin;
        return (sw_ & 0xfff0) == 0x63c0 ? CardStatus::WrongPin : CardStatus::CardError;
    }
    // Steps into the TLV with tag `tag` at p[at]: at moves to its value, n is its length.
    static bool tlv(u8 const* p, u32 len, u32& at, u8 tag, u32& n) {
        if (at + 2 > len || p[at] != tag)
            return false;
        if (p[at + 1] < 0x80) {
            n = p[at + 1];
            at += 2;
        } else if (p[at + 1] == 0x82 && at + 4 <= len) {
            n = static_cast<u32>(p[at + 2] << 8 | p[at + 3]);
            at += 4;
        } else {
            return false;
        }
        return at + n <= len;
    }
    ApduChannel& ch_;
    u16 sw_{0};
};

}  // namespace tv::card::test
