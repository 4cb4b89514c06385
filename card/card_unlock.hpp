// The card half of the boot-time unlock, on any Card: find the key whose certificate a card
// slot names, ask for the PIN (with the tries left, the card's own count when it reports one),
// have the card run the raw RSA operation on the slot's ciphertext, and unwrap the master key
// (crypto/keyslot_card.hpp). The PIN, the card's answer and the certificate are wiped before
// return, whatever happened; nothing secret is ever passed to the console but the prompt.
//
// Pure: host-tested with the fake CAC card behind the fake reader (tests/unit/test_card_unlock.cpp).
// drivers/usb/host/ provides the Card and core/ the console.
#pragma once

#include "card/card.hpp"
#include "crypto/keyslot.hpp"
#include "crypto/keyslot_format.hpp"

namespace tv::card {

inline constexpr u32 kMaxPinBytes = 8;  // CAC; longer PINs are refused before they reach the card
inline constexpr u32 kMaxCertBytes = 4096;

class UnlockConsole {
  public:
    virtual ~UnlockConsole() = default;
    // Reads a secret (shown as '*'); its length, 0 if nothing was entered.
    virtual u32 read_pin(char const* prompt, u8* pin, u32 cap) = 0;
    virtual void say(char const* line) = 0;
};

enum class CardUnlockResult : u8 {
    Ok,
    NotEnrolled,       // no key on the card matches a card slot of this disk
    TooManyWrongPins,  // our limit ([keys] passphrase_tries) was reached
    PinBlocked,        // the card blocked its PIN
    CardFailed,        // the card or reader failed (transport, refusal)
    KeyRefused,        // the card's answer does not open the slot (or fails the header check)
};

[[nodiscard]] char const* describe(CardUnlockResult r);

struct CardUnlockParams {
    char const* disk_name{""};
    u32 pin_tries{3};
};

// On Ok, mk holds the master key and slot the card slot that opened.
[[nodiscard]] CardUnlockResult card_unlock(Card& card, crypto::Keyslots const& ks, UnlockConsole& con,
                                           CardUnlockParams const& p, crypto::MasterKey& mk, u32& slot);

}  // namespace tv::card
