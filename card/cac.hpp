// The CAC applet as libcacard implements it (QEMU's ccid-card-emulated): three PKI applets
// (AID A0 00 00 00 79 01 0k, one per key), each holding its certificate in a pair of
// SimpleTLV buffers read with READ BUFFER (INS 0x52: the tag/length buffer, 01, and the
// value buffer, 02, each behind a 2-byte little-endian length); SIGN/DECRYPT (INS 0x42) is the
// raw RSA operation, its input sent in chunks (P1 0x80: more follows, 0x00: the last);
// VERIFY (INS 0x20) checks the PIN, 63 Cx reporting x tries left.
//
// Pure over an ApduChannel: host-tested with a fake card (tests/unit/test_ccid_cac.cpp).
#pragma once

#include "card/apdu.hpp"
#include "card/card.hpp"

namespace tv::card {

inline constexpr u32 kCacKeys = 3;
inline constexpr u32 kCacMaxBuffer = 4096;  // a certificate buffer; RSA-2048 certificates are ~1 KiB

class CacCard final : public Card {
  public:
    explicit CacCard(ApduChannel& ch) : ch_{ch} {}
    u32 key_count() const override { return kCacKeys; }
    [[nodiscard]] CardStatus read_certificate(u32 key, u8* out, u32 cap, u32& len) override;
    [[nodiscard]] CardStatus pin_tries(int& tries_left) override;
    [[nodiscard]] CardStatus verify_pin(u8 const* pin, u32 len, int& tries_left) override;
    [[nodiscard]] CardStatus private_op(u32 key, u8 const* in, u32 len, u8* out) override;

    u16 last_sw() const { return sw_; }

  private:
    [[nodiscard]] CardStatus select(u32 key);
    [[nodiscard]] CardStatus read_buffer(u8 which, u8* out, u32 cap, u32& len);
    [[nodiscard]] CardStatus run(Apdu const& a);
    ApduChannel& ch_;
    u16 sw_{0};
    u8 tl_[kCacMaxBuffer];
    u8 value_[kCacMaxBuffer];
};

// The certificate inside a PKI applet's buffers: walks the tag/length entries (tag, length
// byte or FF + 2-byte LE length) alongside the values, finds the CertInfo (0x71) and
// Certificate (0x70) entries. NotSupported for a compressed certificate, BadAnswer for
// buffers that do not add up. tl and value exclude their 2-byte length prefixes.
[[nodiscard]] CardStatus cac_find_certificate(u8 const* tl, u32 tl_len, u8 const* value, u32 value_len,
                                              u8 const*& cert, u32& cert_len);

}  // namespace tv::card
