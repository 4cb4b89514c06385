// The boot-time smart-card unlock in the monitor (docs/smartcard.md): find a USB host
// controller, the CCID reader on its root ports or behind hubs and the card in it, then
// card_unlock() (card/) with the PIN asked on the console; the controller is reset afterwards
// so the guest finds it as usual, or, under [card] reader = hide, the xHCI mediator keeps the
// reader's root port from the guest (kept_reader.hpp).
#pragma once

#include "crypto/keyslot.hpp"
#include "crypto/keyslot_format.hpp"

namespace tv::usb::host {

enum class CardBoot : u8 {
    Unlocked,
    NoReader,      // no xHCI controller or no CCID reader on it
    NoCard,        // a reader, but no card came within the wait
    NotEnrolled,   // the card is not one of this disk's card slots
    TooManyPins,   // [keys] passphrase_tries wrong PINs in a row
    PinBlocked,    // the card blocked its PIN
    KeyRefused,    // the card's answer does not open the slot
    Failed,        // the reader or card failed
    CannotHide,    // [card] reader = hide, but the reader is on a controller whose ports the monitor cannot hide
};

struct CardBootParams {
    char const* disk_name{""};
    u32 pin_tries{3};
    u32 insert_wait_s{15};
    bool hide_reader{false};  // [card] reader = hide
};

[[nodiscard]] CardBoot card_boot_unlock(crypto::Keyslots const& ks, CardBootParams const& p, crypto::MasterKey& mk,
                                        u32& slot);

}  // namespace tv::usb::host
