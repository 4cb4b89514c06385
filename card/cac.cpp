#include "card/cac.hpp"

#include <string.h>

#include "crypto/secure_zero.hpp"

namespace tv::card {

namespace {

constexpr u8 kClaIso = 0x00;
constexpr u8 kClaCac = 0x80;
constexpr u8 kInsSelect = 0xa4;
constexpr u8 kInsVerify = 0x20;
constexpr u8 kInsReadBuffer = 0x52;
constexpr u8 kInsSignDecrypt = 0x42;
constexpr u8 kBufferTl = 0x01;
constexpr u8 kBufferValue = 0x02;
constexpr u8 kTagCertificate = 0x70;
constexpr u8 kTagCertInfo = 0x71;
constexpr u32 kReadChunk = 240;      // READ BUFFER's length is one byte
constexpr u32 kSignChunk = 128;      // SIGN/DECRYPT data per command (short APDUs)
constexpr u32 kCacPinBytes = 8;      // CAC PINs are padded with FF to 8 bytes

CardStatus from_sw(u16 sw) {
    if (sw == kSwOk)
        return CardStatus::Ok;
    if (sw == 0x6a82 || sw == 0x6a88)
        return CardStatus::NotFound;
    if (sw == 0x6982)
        return CardStatus::NeedsPin;
    if (sw == 0x6983)
        return CardStatus::PinBlocked;
    return CardStatus::CardError;
}

u16 le16(u8 const* p) { return static_cast<u16>(p[0] | p[1] << 8); }

}  // namespace

char const* describe(CardStatus s) {
    switch (s) {
    case CardStatus::Ok: return "ok";
    case CardStatus::TransportFailed: return "the card or reader stopped answering";
    case CardStatus::BadAnswer: return "the card gave an invalid answer";
    case CardStatus::NotFound: return "not found on the card";
    case CardStatus::NotSupported: return "not supported";
    case CardStatus::WrongPin: return "wrong PIN";
    case CardStatus::PinBlocked: return "the PIN is blocked";
    case CardStatus::NeedsPin: return "the card wants the PIN first";
    case CardStatus::TooLarge: return "the card's object is too large";
    case CardStatus::CardError: return "the card refused the command";
    }
    return "unknown card error";
}

CardStatus cac_find_certificate(u8 const* tl, u32 tl_len, u8 const* value, u32 value_len, u8 const*& cert,
                                u32& cert_len) {
    cert = nullptr;
    cert_len = 0;
    bool have_info = false;
    u32 at = 0;
    u32 vat = 0;
    while (at < tl_len) {
        if (tl_len - at < 2)
            return CardStatus::BadAnswer;
        u8 const tag = tl[at];
        u32 len = tl[at + 1];
        at += 2;
        if (len == 0xff) {
            if (tl_len - at < 2)
                return CardStatus::BadAnswer;
            len = le16(tl + at);
            at += 2;
        }
        if (len > value_len - vat)
            return CardStatus::BadAnswer;
        if (tag == kTagCertInfo) {
            if (len != 1)
                return CardStatus::BadAnswer;
            if ((value[vat] & 1) != 0)
                return CardStatus::NotSupported;  // compressed (zlib): libcacard never does this
            have_info = true;
        } else if (tag == kTagCertificate && cert == nullptr) {
            cert = value + vat;
            cert_len = len;
        }
        vat += len;
    }
    if (cert == nullptr || cert_len == 0)
        return CardStatus::NotFound;
    (void)have_info;  // optional: without it the certificate is taken as uncompressed
    return CardStatus::Ok;
}

CardStatus CacCard::run(Apdu const& a) {
    switch (ch_.exchange(a, sw_)) {
    case ApduResult::Ok: return from_sw(sw_);
    case ApduResult::TransportFailed: return CardStatus::TransportFailed;
    case ApduResult::TooLong: return CardStatus::TooLarge;
    case ApduResult::BadAnswer: return CardStatus::BadAnswer;
    }
    return CardStatus::BadAnswer;
}

CardStatus CacCard::select(u32 key) {
    if (key >= kCacKeys)
        return CardStatus::NotFound;
    u8 const aid[7] = {0xa0, 0x00, 0x00, 0x00, 0x79, 0x01, static_cast<u8>(key)};
    Apdu a;
    a.cla = kClaIso;
    a.ins = kInsSelect;
    a.p1 = 0x04;  // by name (AID)
    a.data = aid;
    a.lc = sizeof aid;
    return run(a);
}

// One whole buffer (without its length prefix) into out.
CardStatus CacCard::read_buffer(u8 which, u8* out, u32 cap, u32& len) {
    len = 0;
    u32 total = 2;  // the prefix first; then what it announces
    for (u32 off = 0; off < total;) {
        u32 const want = total - off < kReadChunk ? total - off : kReadChunk;
        u8 const body[2] = {which, static_cast<u8>(want)};
        Apdu a;
        a.cla = kClaCac;
        a.ins = kInsReadBuffer;
        a.p1 = static_cast<u8>(off >> 8);
        a.p2 = static_cast<u8>(off);
        a.data = body;
        a.lc = sizeof body;
        a.expect_data = true;
        a.le = want;
        if (CardStatus const s = run(a); s != CardStatus::Ok)
            return s;
        if (ch_.len() == 0 || ch_.len() > want)
            return CardStatus::BadAnswer;
        if (off == 0) {
            if (ch_.len() < 2)
                return CardStatus::BadAnswer;
            total = 2 + le16(ch_.data());
            if (total - 2 > cap)
                return CardStatus::TooLarge;
        }
        for (u32 i = 0; i < ch_.len(); ++i)  // bytes 0-1 are the prefix, the rest goes to out
            if (off + i >= 2 && off + i < total)
                out[off + i - 2] = ch_.data()[i];
        off += ch_.len();
    }
    len = total - 2;
    return CardStatus::Ok;
}

CardStatus CacCard::read_certificate(u32 key, u8* out, u32 cap, u32& len) {
    len = 0;
    if (CardStatus const s = select(key); s != CardStatus::Ok)
        return s;
    u32 tl_len = 0;
    u32 value_len = 0;
    if (CardStatus const s = read_buffer(kBufferTl, tl_, sizeof tl_, tl_len); s != CardStatus::Ok)
        return s;
    if (CardStatus const s = read_buffer(kBufferValue, value_, sizeof value_, value_len); s != CardStatus::Ok)
        return s;
    u8 const* cert = nullptr;
    u32 cert_len = 0;
    if (CardStatus const s = cac_find_certificate(tl_, tl_len, value_, value_len, cert, cert_len);
        s != CardStatus::Ok)
        return s;
    if (cert_len > cap)
        return CardStatus::TooLarge;
    memcpy(out, cert, cert_len);
    len = cert_len;
    return CardStatus::Ok;
}

CardStatus CacCard::pin_tries(int& tries_left) {
    tries_left = kTriesUnknown;
    Apdu a;
    a.cla = kClaIso;
    a.ins = kInsVerify;
    CardStatus const s = run(a);
    if ((sw_ & 0xfff0) == 0x63c0) {
        tries_left = sw_ & 0x0f;
        return CardStatus::Ok;
    }
    // 90 00: already verified; 6A 88 (libcacard): the card keeps no count.
    return s == CardStatus::Ok || s == CardStatus::NotFound ? CardStatus::Ok : s;
}

CardStatus CacCard::verify_pin(u8 const* pin, u32 len, int& tries_left) {
    tries_left = kTriesUnknown;
    if (pin == nullptr || len == 0 || len > kCacPinBytes)
        return CardStatus::WrongPin;
    u8 padded[kCacPinBytes];
    memset(padded, 0xff, sizeof padded);
    memcpy(padded, pin, len);
    Apdu a;
    a.cla = kClaIso;
    a.ins = kInsVerify;
    a.data = padded;
    a.lc = sizeof padded;
    CardStatus s = run(a);
    crypto::secure_zero(padded, sizeof padded);
    ch_.wipe();
    if ((sw_ & 0xfff0) == 0x63c0) {
        tries_left = sw_ & 0x0f;
        return tries_left == 0 ? CardStatus::PinBlocked : CardStatus::WrongPin;
    }
    // 69 85 (conditions of use not satisfied) is libcacard's answer to a wrong PIN; 69 82
    // (security status) other cards'.
    if (s == CardStatus::NeedsPin || sw_ == 0x6985)
        s = CardStatus::WrongPin;
    return s;
}

CardStatus CacCard::private_op(u32 key, u8 const* in, u32 len, u8* out) {
    if (in == nullptr || out == nullptr || len == 0 || len > 2 * kApduMaxData)
        return CardStatus::BadAnswer;
    if (CardStatus const s = select(key); s != CardStatus::Ok)
        return s;
    CardStatus s = CardStatus::Ok;
    for (u32 off = 0; off < len && s == CardStatus::Ok;) {
        u32 const n = len - off < kSignChunk ? len - off : kSignChunk;
        bool const last = off + n == len;
        Apdu a;
        a.cla = kClaCac;
        a.ins = kInsSignDecrypt;
        a.p1 = last ? 0x00 : 0x80;
        a.data = in + off;
        a.lc = n;
        a.expect_data = last;
        a.le = 256;
        s = run(a);
        off += n;
        if (s == CardStatus::Ok && last && ch_.len() != len)
            s = CardStatus::BadAnswer;
    }
    if (s == CardStatus::Ok)
        memcpy(out, ch_.data(), len);
    ch_.wipe();
    return s;
}

}  // namespace tv::card
