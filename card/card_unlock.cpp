#include "card/card_unlock.hpp"

#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>

#include "crypto/keyslot_card.hpp"
#include "crypto/secure_zero.hpp"

namespace tv::card {

namespace {

// Scratch that holds secrets or card data: wiped on every way out.
struct Scratch {
    u8 cert[kMaxCertBytes];
    u8 pin[kMaxPinBytes + 1];
    u8 em[crypto::kKsCardMaxRsaBytes];
    ~Scratch() { crypto::secure_zero(this, sizeof *this); }
};

u32 lowest_bit(u32 mask) {
    u32 i = 0;
    while (i < 32 && (mask & (1u << i)) == 0)
        ++i;
    return i;
}

// The key on the card that a card slot names: Ok with key and slot set, NotFound if none.
CardStatus find_enrolled_key(Card& card, crypto::Keyslots const& ks, Scratch& s, u32& key, u32& slot) {
    for (u32 k = 0; k < card.key_count(); ++k) {
        u32 len = 0;
        CardStatus const st = card.read_certificate(k, s.cert, sizeof s.cert, len);
        if (st == CardStatus::NotFound)
            continue;
        if (st != CardStatus::Ok)
            return st;
        u8 hash[32];
        if (mbedtls_sha256_ret(s.cert, len, hash, 0) != 0)
            return CardStatus::BadAnswer;
        if (u32 const mask = crypto::ks_card_slots_for(ks, hash); mask != 0) {
            key = k;
            slot = lowest_bit(mask);
            return CardStatus::Ok;
        }
    }
    return CardStatus::NotFound;
}

// The PIN loop: Ok once the card accepted one.
CardUnlockResult verify_pin(Card& card, UnlockConsole& con, CardUnlockParams const& p, Scratch& s) {
    char line[160];
    for (u32 t = 0; t < p.pin_tries; ++t) {
        int card_tries = kTriesUnknown;
        if (card.pin_tries(card_tries) != CardStatus::Ok)
            return CardUnlockResult::CardFailed;
        if (card_tries == 0)
            return CardUnlockResult::PinBlocked;
        if (card_tries > 0)
            snprintf(line, sizeof line, "thinvisor: PIN of the card for disk '%s' (%u tries left, the card allows %d): ",
                     p.disk_name, p.pin_tries - t, card_tries);
        else
            snprintf(line, sizeof line, "thinvisor: PIN of the card for disk '%s' (%u tries left): ", p.disk_name,
                     p.pin_tries - t);
        u32 const n = con.read_pin(line, s.pin, sizeof s.pin);
        int left = kTriesUnknown;
        // An empty or too long PIN never reaches the card (its counter is not spent) but costs
        // one of our tries, so that nothing typed at the prompt is free.
        CardStatus const st = n == 0 || n > kMaxPinBytes ? CardStatus::WrongPin : card.verify_pin(s.pin, n, left);
        crypto::secure_zero(s.pin, sizeof s.pin);
        if (st == CardStatus::Ok)
            return CardUnlockResult::Ok;
        if (st == CardStatus::PinBlocked)
            return CardUnlockResult::PinBlocked;
        if (st != CardStatus::WrongPin)
            return CardUnlockResult::CardFailed;
        if (n == 0)
            snprintf(line, sizeof line, "thinvisor: no PIN was typed (the card was not asked)");
        else if (n > kMaxPinBytes)
            snprintf(line, sizeof line, "thinvisor: the PIN is longer than %u characters (the card was not asked)",
                     kMaxPinBytes);
        else if (left >= 0)
            snprintf(line, sizeof line, "thinvisor: wrong PIN (the card allows %d more)", left);
        else
            snprintf(line, sizeof line, "thinvisor: wrong PIN");
        con.say(line);
    }
    return CardUnlockResult::TooManyWrongPins;
}

}  // namespace

char const* describe(CardUnlockResult r) {
    switch (r) {
    case CardUnlockResult::Ok: return "unlocked";
    case CardUnlockResult::NotEnrolled: return "the card is not enrolled for this disk";
    case CardUnlockResult::TooManyWrongPins: return "too many wrong PINs";
    case CardUnlockResult::PinBlocked: return "the card's PIN is blocked";
    case CardUnlockResult::CardFailed: return "the card failed";
    case CardUnlockResult::KeyRefused: return "the card's answer does not open the disk";
    }
    return "unknown";
}

CardUnlockResult card_unlock(Card& card, crypto::Keyslots const& ks, UnlockConsole& con, CardUnlockParams const& p,
                             crypto::MasterKey& mk, u32& slot) {
    Scratch s;
    u32 key = 0;
    CardStatus const found = find_enrolled_key(card, ks, s, key, slot);
    if (found == CardStatus::NotFound)
        return CardUnlockResult::NotEnrolled;
    if (found != CardStatus::Ok)
        return CardUnlockResult::CardFailed;
    if (CardUnlockResult const r = verify_pin(card, con, p, s); r != CardUnlockResult::Ok)
        return r;
    crypto::KsCard const& c = ks.slots[slot].card;
    if (card.private_op(key, c.ciphertext, c.rsa_bytes, s.em) != CardStatus::Ok)
        return CardUnlockResult::CardFailed;
    crypto::KsError const e = crypto::ks_unlock_card(ks, slot, s.em, c.rsa_bytes, mk);
    return e == crypto::KsError::Ok ? CardUnlockResult::Ok : CardUnlockResult::KeyRefused;
}

}  // namespace tv::card
