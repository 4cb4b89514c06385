// Keyslot operations: create a key set, add and remove passphrases, unlock (docs/keyslots.md).
//
// A passphrase slot holds the master key encrypted with AES-256-GCM under
// KEK = PBKDF2-HMAC-SHA256(passphrase, salt, iterations). The GCM associated data binds the
// slot to its file (uuid), its index and its parameters, so an edited iteration count or
// salt makes the slot fail to open. A wrong passphrase fails the GCM tag; a key that opens
// but does not match the header's check value means the header was altered.
//
// Every temporary secret (KEK, unwrapped key) is wiped before return. In the monitor, call
// these inside an FpuGuard: mbedTLS's AES and GCM use AES-NI and PCLMULQDQ when present.
#pragma once

#include "core/types.hpp"
#include "crypto/keyslot_format.hpp"
#include "crypto/random.hpp"

namespace tv::crypto {

// The disk's master key (XTS K1 then K2). Wiped when it goes out of scope; not copyable, so
// no stray copies are left behind.
struct MasterKey {
    u8 bytes[kKsMasterKeyBytes]{};

    MasterKey() = default;
    ~MasterKey();
    MasterKey(MasterKey const&) = delete;
    MasterKey& operator=(MasterKey const&) = delete;
};

inline constexpr u32 kKsAnySlot = ~0u;

// A fresh key set: random uuid and master key (returned in mk), check value, no slot yet
// (add one before writing the file: a file without slots does not parse).
[[nodiscard]] KsError ks_create(Keyslots& ks, MasterKey& mk, u32 data_unit, Random const& rng);

// mk must pass the check value (so a wrong key is never wrapped). slot: an empty slot, or
// kKsAnySlot for the first free one; *used (if given) receives it.
[[nodiscard]] KsError ks_add_passphrase(Keyslots& ks, MasterKey const& mk, u8 const* pass,
                                        u64 pass_len, u32 iterations, Random const& rng,
                                        u32 slot = kKsAnySlot, u32* used = nullptr);

// Empties a slot; refuses the last active one (LastSlot).
[[nodiscard]] KsError ks_remove_slot(Keyslots& ks, u32 slot);

// Tries every passphrase slot in order (card slots are skipped: crypto/keyslot_card.hpp); on success mk holds the master key and *opened (if
// given) the slot. WrongPassphrase if none opens, HeaderMismatch if one opens but the key
// fails the check value.
[[nodiscard]] KsError ks_unlock(Keyslots const& ks, u8 const* pass, u64 pass_len, MasterKey& mk,
                                u32* opened = nullptr);

// The same for one slot only (one PBKDF2 run instead of up to eight).
[[nodiscard]] KsError ks_unlock_slot(Keyslots const& ks, u32 slot, u8 const* pass, u64 pass_len,
                                     MasterKey& mk);

// Ok if mk matches the header's check value (constant-time comparison).
[[nodiscard]] KsError ks_check_master_key(Keyslots const& ks, MasterKey const& mk);

}  // namespace tv::crypto
