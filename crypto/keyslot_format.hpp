// The keyslot file: on-disk layout, strict parser and serializer (docs/keyslots.md).
//
// A fixed-size file of 4608 bytes: a 512-byte header and 8 slots of 512 bytes. The header
// names the cipher and the data-unit size and carries a check value (HMAC-SHA256 under the
// master key) that proves a key right; each active slot holds the master key wrapped under a
// key derived from a passphrase, or (a card slot) RSA-OAEP-wrapped to a smart card's key. All integers are little-endian; every reserved byte must be
// zero; a CRC-32 over the file catches accidental damage before any key is tried.
//
// Pure data handling, no cryptography: crypto/keyslot.hpp does the key work. Kept apart so
// the parser can be fuzzed on its own (tests/unit/fuzz_keyslot.cpp).
#pragma once

#include "core/types.hpp"
#include "crypto/le.hpp"

namespace tv::crypto {

inline constexpr u8 kKsMagic[8] = {'T', 'V', 'K', 'E', 'Y', 'S', 'L', 'T'};
inline constexpr u16 kKsVersion = 1;
inline constexpr u32 kKsSlots = 8;
inline constexpr u32 kKsSaltBytes = 32;
inline constexpr u32 kKsIvBytes = 12;
inline constexpr u32 kKsTagBytes = 16;
inline constexpr u32 kKsUuidBytes = 16;
inline constexpr u32 kKsCheckBytes = 32;
inline constexpr u32 kKsMasterKeyBytes = 64;  // XTS-AES-256: K1 and K2
inline constexpr u32 kKsMinIterations = 1000;
inline constexpr u32 kKsMaxIterations = 50'000'000;  // bounds the unlock time a bad file can cause

// ---- On-disk structures (little-endian, no padding) ----------------------------------------

struct KsHeaderDisk {
    u8 magic[8];             // kKsMagic
    Le16 version;            // kKsVersion
    Le16 header_bytes;       // 512
    Le16 slot_bytes;         // 512
    Le16 slot_count;         // kKsSlots
    Le32 file_bytes;         // 4608
    Le32 data_unit;          // 512 or 4096: the sector size the tweak counts in
    Le32 cipher;             // KsCipher
    Le32 key_bytes;          // kKsMasterKeyBytes
    Le32 check_alg;          // KsCheckAlg
    Le32 flags;              // 0
    u8 uuid[kKsUuidBytes];   // random; binds slots and the disk tool's journal to this file
    u8 check[kKsCheckBytes];  // HMAC-SHA256(master key, label ++ bytes [0, 56) of the header)
    u8 reserved[420];        // 0
    Le32 crc32;              // CRC-32 of the whole file with this field read as 0
};
static_assert(sizeof(KsHeaderDisk) == 512);

struct KsSlotDisk {
    Le32 type;                       // KsSlotType
    Le32 flags;                      // 0
    Le32 kdf;                        // KsKdf
    Le32 iterations;                 // PBKDF2 iterations
    u8 salt[kKsSaltBytes];           // PBKDF2 salt
    Le32 wrap;                       // KsWrap
    u8 iv[kKsIvBytes];               // GCM nonce
    u8 wrapped_key[kKsMasterKeyBytes];  // the master key, encrypted
    u8 tag[kKsTagBytes];             // GCM tag over wrapped_key and the slot's associated data
    u8 type_data[368];               // per-type parameters; all 0 for a passphrase slot
};
static_assert(sizeof(KsSlotDisk) == 512);

struct KsFileDisk {
    KsHeaderDisk header;
    KsSlotDisk slots[kKsSlots];
};
static_assert(sizeof(KsFileDisk) == 4608);

inline constexpr u64 kKsFileBytes = sizeof(KsFileDisk);
inline constexpr u64 kKsCheckedHeaderBytes = 56;  // magic .. uuid: what the check value covers
inline constexpr u64 kKsSlotAadPrefix = 52;       // type .. wrap: what the tag covers besides the key

// ---- Parsed form ---------------------------------------------------------------------------

enum class KsCipher : u32 { Aes256XtsPlain64 = 1 };  // tweak = sector number, 128-bit LE
enum class KsCheckAlg : u32 { HmacSha256 = 1 };
enum class KsSlotType : u32 {
    Empty = 0,
    Passphrase = 1,
    Card = 2,  // the master key RSA-OAEP-wrapped to a smart card's key (KsCardDisk in type_data)
};
enum class KsKdf : u32 { None = 0, Pbkdf2Sha256 = 1 };
enum class KsWrap : u32 { None = 0, Aes256Gcm = 1, RsaOaepSha256 = 2 };
enum class KsCardKind : u8 { Cac = 1 };  // which applet the card speaks (card/card.hpp)

inline constexpr u32 kKsCardMinRsaBytes = 130;  // OAEP-SHA256 of a 64-byte key: 2*32 + 2 + 64
inline constexpr u32 kKsCardMaxRsaBytes = 256;  // RSA-2048: what fits in type_data
inline constexpr u32 kKsCardSerialBytes = 20;   // an X.509 serial number is at most 20 bytes
inline constexpr u32 kKsCardSubjectBytes = 48;
inline constexpr u32 kKsCardMaxCertIndex = 15;

// A card slot's type_data. Everything before `ciphertext` is also the OAEP label's tail
// (crypto/keyslot_card.hpp), so it cannot be edited without the card refusing the key.
struct KsCardDisk {
    u8 cert_sha256[32];                  // SHA-256 of the card certificate's DER: recognises the card
    Le16 rsa_bytes;                      // modulus length: kKsCardMinRsaBytes .. kKsCardMaxRsaBytes
    u8 card_kind;                        // KsCardKind
    u8 cert_index;                       // which of the card's keys (CAC: PKI applet 0, 1, 2)
    u8 serial_len;                       // 1 .. kKsCardSerialBytes
    u8 serial[kKsCardSerialBytes];       // the certificate's serial number, big-endian
    u8 reserved0[3];                     // 0
    u8 subject[kKsCardSubjectBytes];     // the subject's CN (UTF-8, cut, zero-padded): for listing
    u8 ciphertext[kKsCardMaxRsaBytes];   // RSA-OAEP(master key), rsa_bytes long, then zeros
    u8 reserved1[4];                     // 0
};
static_assert(sizeof(KsCardDisk) == 368);
inline constexpr u64 kKsCardLabelBytes = 108;  // cert_sha256 .. subject
static_assert(__builtin_offsetof(KsCardDisk, ciphertext) == kKsCardLabelBytes);

struct KsCard {
    u8 cert_sha256[32]{};
    u32 rsa_bytes{0};
    KsCardKind kind{KsCardKind::Cac};
    u8 cert_index{0};
    u8 serial_len{0};
    u8 serial[kKsCardSerialBytes]{};
    char subject[kKsCardSubjectBytes + 1]{};  // NUL-terminated
    u8 ciphertext[kKsCardMaxRsaBytes]{};
};

struct KsSlot {
    KsSlotType type{KsSlotType::Empty};
    KsKdf kdf{KsKdf::None};
    u32 iterations{0};
    u8 salt[kKsSaltBytes]{};
    KsWrap wrap{KsWrap::None};
    u8 iv[kKsIvBytes]{};
    u8 wrapped_key[kKsMasterKeyBytes]{};
    u8 tag[kKsTagBytes]{};
    KsCard card{};  // type Card only

    [[nodiscard]] bool active() const { return type != KsSlotType::Empty; }
};

struct Keyslots {
    u32 data_unit{512};
    KsCipher cipher{KsCipher::Aes256XtsPlain64};
    u8 uuid[kKsUuidBytes]{};
    u8 check[kKsCheckBytes]{};
    KsSlot slots[kKsSlots]{};

    [[nodiscard]] u32 active_slots() const;
};

// Why a file was refused or an operation failed. describe() gives the message for a user.
enum class KsError : u8 {
    Ok,
    Truncated,           // shorter than the format
    TrailingData,        // longer than the format
    BadMagic,            // not a keyslot file
    UnsupportedVersion,
    BadLayout,           // header/slot sizes, slot count or file size fields
    BadDataUnit,         // not 512 or 4096
    UnsupportedCipher,
    BadKeySize,
    UnsupportedCheck,
    BadReserved,         // a flags or reserved field is not zero
    ChecksumMismatch,    // the CRC does not match: the file is damaged
    BadSlot,             // a slot's fields are invalid (see the slot index)
    NoActiveSlot,        // no slot holds the key: the file cannot open anything
    WrongPassphrase,     // no slot opens with this passphrase
    HeaderMismatch,      // a slot opened but the key fails the header check: header edited
    NoFreeSlot,
    SlotOutOfRange,
    SlotEmpty,
    SlotInUse,
    LastSlot,            // removing it would lose the master key
    BadArgument,
    RandomFailed,
    CryptoFailed,
    WrongSlotType,       // the operation needs another kind of slot (passphrase or card)
    WrongCard,           // the card's answer does not open this card slot
};

[[nodiscard]] char const* describe(KsError e);

// Parses exactly kKsFileBytes bytes. Every field is checked; on failure out is unspecified and,
// for BadSlot, *bad_slot (if given) names the slot.
[[nodiscard]] KsError parse_keyslots(u8 const* data, u64 len, Keyslots& out,
                                     u32* bad_slot = nullptr);

// The file image of ks, CRC included. ks should be valid (e.g. from parse or the operations in
// crypto/keyslot.hpp); serialize then parse gives ks back.
void serialize_keyslots(Keyslots const& ks, KsFileDisk& out);

// The bytes the check value covers and the associated data of slot i's tag.
void ks_checked_header(Keyslots const& ks, u8 (&out)[kKsCheckedHeaderBytes]);
inline constexpr u64 kKsSlotAadBytes = kKsUuidBytes + 4 + kKsSlotAadPrefix;
void ks_slot_aad(Keyslots const& ks, u32 index, KsSlot const& slot, u8 (&out)[kKsSlotAadBytes]);

// A card slot's type_data bytes 0 .. kKsCardLabelBytes (what the OAEP label covers).
void ks_card_label_fields(KsSlot const& slot, u8 (&out)[kKsCardLabelBytes]);

}  // namespace tv::crypto
