// A smart card as the boot-time unlock needs it, whatever applet it runs: which keys it holds,
// each key's certificate, PIN verification with the tries left, and the raw RSA private-key
// operation (the padding is removed by the monitor, crypto/rsa_oaep.hpp). card/cac.hpp is the
// CAC implementation (libcacard's applet, QEMU's emulated card); a PIV or PKCS#15 card would
// be another implementation of the same interface.
#pragma once

#include "core/types.hpp"

namespace tv::card {

enum class CardStatus : u8 {
    Ok,
    TransportFailed,  // the reader or the card stopped answering
    BadAnswer,        // an answer the protocol does not allow
    NotFound,         // no such applet, key or object
    NotSupported,     // e.g. a compressed certificate
    WrongPin,         // tries_left says how many remain, if the card reports it
    PinBlocked,
    NeedsPin,         // the key operation needs VERIFY first
    TooLarge,         // the object does not fit the caller's buffer
    CardError,        // any other refusal (status word in the log)
};

[[nodiscard]] char const* describe(CardStatus s);

inline constexpr int kTriesUnknown = -1;

class Card {
  public:
    virtual ~Card() = default;
    virtual u32 key_count() const = 0;
    // The certificate (DER) of key `key`.
    [[nodiscard]] virtual CardStatus read_certificate(u32 key, u8* out, u32 cap, u32& len) = 0;
    // The tries left before the PIN blocks, without trying one (kTriesUnknown if the card
    // does not say).
    [[nodiscard]] virtual CardStatus pin_tries(int& tries_left) = 0;
    // On WrongPin, tries_left is what the card reports (or kTriesUnknown).
    [[nodiscard]] virtual CardStatus verify_pin(u8 const* pin, u32 len, int& tries_left) = 0;
    // out = in^d mod n with key `key`'s private key; len is the modulus length, out holds len bytes.
    [[nodiscard]] virtual CardStatus private_op(u32 key, u8 const* in, u32 len, u8* out) = 0;
};

}  // namespace tv::card
