// Card keyslots (docs/keyslots.md, docs/smartcard.md): the master key wrapped with RSA-OAEP
// (SHA-256) to a smart card's public key.
//
// The OAEP label binds the slot to its file and place: "thinvisor card slot v1" ++ uuid ++
// le32(index) ++ the slot's card fields (certificate hash, key size, kind, index, serial,
// subject). A slot copied to another index or file, or whose fields were edited, decodes to
// "wrong card" even with the right card; the unwrapped key must still pass the header's check
// value. Unlocking needs only the card's raw RSA result (the monitor has no private key and
// no RSA code of its own); adding a slot (crypto/keyslot_card_add.cpp) is host-only.
#pragma once

#include "core/types.hpp"
#include "crypto/keyslot.hpp"
#include "crypto/keyslot_format.hpp"

namespace tv::crypto {

inline constexpr char kKsCardLabelPrefix[] = "thinvisor card slot v1";
inline constexpr u64 kKsCardOaepLabelBytes =
    (sizeof kKsCardLabelPrefix - 1) + kKsUuidBytes + 4 + kKsCardLabelBytes;

void ks_card_oaep_label(Keyslots const& ks, u32 index, KsSlot const& slot,
                        u8 (&out)[kKsCardOaepLabelBytes]);

// Bit i set: slot i is a card slot for the certificate with this SHA-256.
[[nodiscard]] u32 ks_card_slots_for(Keyslots const& ks, u8 const (&cert_sha256)[32]);

// Opens card slot `slot` from the card's raw RSA result em (the slot's rsa_bytes long).
// WrongCard if the padding or label does not check out; HeaderMismatch if it does but the key
// fails the check value. mk is wiped on failure.
[[nodiscard]] KsError ks_unlock_card(Keyslots const& ks, u32 slot, u8 const* em, u64 em_len,
                                     MasterKey& mk);

// The public key a card slot is wrapped to: big-endian modulus and exponent.
struct KsRsaPublicKey {
    u8 const* n{nullptr};
    u64 n_len{0};
    u8 const* e{nullptr};
    u64 e_len{0};
};

// Host only (needs mbedTLS's RSA): wraps mk (which must pass the check value) to pub into an
// empty slot, or the first free one with kKsAnySlot. card gives the slot's card fields
// (hash, kind, index, serial, subject); rsa_bytes and the ciphertext are filled in here.
[[nodiscard]] KsError ks_add_card(Keyslots& ks, MasterKey const& mk, KsCard const& card,
                                  KsRsaPublicKey const& pub, Random const& rng,
                                  u32 slot = kKsAnySlot, u32* used = nullptr);

}  // namespace tv::crypto
