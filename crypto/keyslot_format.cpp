#include "crypto/keyslot_format.hpp"

#include <stddef.h>
#include <string.h>

#include "crypto/crc32.hpp"

namespace tv::crypto {

namespace {

constexpr u32 kCrcOffset = offsetof(KsHeaderDisk, crc32);

bool all_zero(u8 const* p, u64 n) {
    u8 acc = 0;
    for (u64 i = 0; i < n; ++i)
        acc = static_cast<u8>(acc | p[i]);
    return acc == 0;
}

// CRC of the whole file image with the CRC field itself read as zero.
u32 file_crc(u8 const* file) {
    static constexpr u8 kZero[4] = {};
    u32 crc = crc32_update(0, file, kCrcOffset);
    crc = crc32_update(crc, kZero, sizeof kZero);
    return crc32_update(crc, file + kCrcOffset + 4, kKsFileBytes - kCrcOffset - 4);
}

KsError check_layout(KsHeaderDisk const& h) {
    if (memcmp(h.magic, kKsMagic, sizeof kKsMagic) != 0)
        return KsError::BadMagic;
    if (h.version.get() != kKsVersion)
        return KsError::UnsupportedVersion;
    if (h.header_bytes.get() != sizeof(KsHeaderDisk) || h.slot_bytes.get() != sizeof(KsSlotDisk) ||
        h.slot_count.get() != kKsSlots || h.file_bytes.get() != kKsFileBytes)
        return KsError::BadLayout;
    return KsError::Ok;
}

KsError parse_header(KsHeaderDisk const& h, Keyslots& out) {
    u32 const unit = h.data_unit.get();
    if (unit != 512 && unit != 4096)
        return KsError::BadDataUnit;
    if (h.cipher.get() != static_cast<u32>(KsCipher::Aes256XtsPlain64))
        return KsError::UnsupportedCipher;
    if (h.key_bytes.get() != kKsMasterKeyBytes)
        return KsError::BadKeySize;
    if (h.check_alg.get() != static_cast<u32>(KsCheckAlg::HmacSha256))
        return KsError::UnsupportedCheck;
    if (h.flags.get() != 0 || !all_zero(h.reserved, sizeof h.reserved))
        return KsError::BadReserved;
    out.data_unit = unit;
    out.cipher = KsCipher::Aes256XtsPlain64;
    memcpy(out.uuid, h.uuid, sizeof out.uuid);
    memcpy(out.check, h.check, sizeof out.check);
    return KsError::Ok;
}

// The subject is a NUL-terminated string padded with zeros: nothing may follow the first zero.
bool subject_canonical(u8 const (&subject)[kKsCardSubjectBytes]) {
    u64 n = 0;
    while (n < sizeof subject && subject[n] != 0)
        ++n;
    return all_zero(subject + n, sizeof subject - n);
}

bool parse_card(KsCardDisk const& c, KsCard& out) {
    u32 const rsa_bytes = c.rsa_bytes.get();
    if (rsa_bytes < kKsCardMinRsaBytes || rsa_bytes > kKsCardMaxRsaBytes ||
        c.card_kind != static_cast<u8>(KsCardKind::Cac) || c.cert_index > kKsCardMaxCertIndex ||
        c.serial_len == 0 || c.serial_len > kKsCardSerialBytes ||
        !all_zero(c.serial + c.serial_len, kKsCardSerialBytes - c.serial_len) ||
        !all_zero(c.reserved0, sizeof c.reserved0) || !subject_canonical(c.subject) ||
        !all_zero(c.ciphertext + rsa_bytes, kKsCardMaxRsaBytes - rsa_bytes) ||
        !all_zero(c.reserved1, sizeof c.reserved1))
        return false;
    memcpy(out.cert_sha256, c.cert_sha256, sizeof out.cert_sha256);
    out.rsa_bytes = rsa_bytes;
    out.kind = KsCardKind::Cac;
    out.cert_index = c.cert_index;
    out.serial_len = c.serial_len;
    memcpy(out.serial, c.serial, sizeof out.serial);
    memcpy(out.subject, c.subject, sizeof c.subject);
    out.subject[kKsCardSubjectBytes] = '\0';
    memcpy(out.ciphertext, c.ciphertext, sizeof out.ciphertext);
    return true;
}

// A card slot uses none of the passphrase fields: they must all be zero.
bool parse_card_slot(KsSlotDisk const& d, KsSlot& out) {
    static_assert(sizeof(KsCardDisk) == sizeof d.type_data);
    if (d.flags.get() != 0 || d.kdf.get() != static_cast<u32>(KsKdf::None) ||
        d.iterations.get() != 0 || !all_zero(d.salt, sizeof d.salt) ||
        d.wrap.get() != static_cast<u32>(KsWrap::RsaOaepSha256) || !all_zero(d.iv, sizeof d.iv) ||
        !all_zero(d.wrapped_key, sizeof d.wrapped_key) || !all_zero(d.tag, sizeof d.tag))
        return false;
    KsCardDisk card;
    memcpy(&card, d.type_data, sizeof card);
    if (!parse_card(card, out.card))
        return false;
    out.type = KsSlotType::Card;
    out.kdf = KsKdf::None;
    out.wrap = KsWrap::RsaOaepSha256;
    return true;
}

bool parse_slot(KsSlotDisk const& d, KsSlot& out) {
    out = KsSlot{};
    u32 const type = d.type.get();
    if (type == static_cast<u32>(KsSlotType::Empty))  // an empty slot is all zeros, nothing else
        return all_zero(reinterpret_cast<u8 const*>(&d), sizeof d);
    if (type == static_cast<u32>(KsSlotType::Card))
        return parse_card_slot(d, out);
    if (type != static_cast<u32>(KsSlotType::Passphrase))
        return false;
    u32 const iterations = d.iterations.get();
    if (d.flags.get() != 0 || d.kdf.get() != static_cast<u32>(KsKdf::Pbkdf2Sha256) ||
        iterations < kKsMinIterations || iterations > kKsMaxIterations ||
        d.wrap.get() != static_cast<u32>(KsWrap::Aes256Gcm) ||
        !all_zero(d.type_data, sizeof d.type_data))
        return false;
    out.type = KsSlotType::Passphrase;
    out.kdf = KsKdf::Pbkdf2Sha256;
    out.iterations = iterations;
    out.wrap = KsWrap::Aes256Gcm;
    memcpy(out.salt, d.salt, sizeof out.salt);
    memcpy(out.iv, d.iv, sizeof out.iv);
    memcpy(out.wrapped_key, d.wrapped_key, sizeof out.wrapped_key);
    memcpy(out.tag, d.tag, sizeof out.tag);
    return true;
}

void put_card(KsCard const& c, KsCardDisk& d) {
    memset(&d, 0, sizeof d);
    memcpy(d.cert_sha256, c.cert_sha256, sizeof d.cert_sha256);
    d.rsa_bytes.set(static_cast<u16>(c.rsa_bytes));
    d.card_kind = static_cast<u8>(c.kind);
    d.cert_index = c.cert_index;
    d.serial_len = c.serial_len;
    memcpy(d.serial, c.serial, sizeof d.serial);
    for (u64 i = 0; i < sizeof d.subject && c.subject[i] != '\0'; ++i)
        d.subject[i] = static_cast<u8>(c.subject[i]);
    memcpy(d.ciphertext, c.ciphertext, sizeof d.ciphertext);
}

void put_slot(KsSlot const& s, KsSlotDisk& d) {
    memset(&d, 0, sizeof d);
    if (!s.active())
        return;
    d.type.set(static_cast<u32>(s.type));
    d.kdf.set(static_cast<u32>(s.kdf));
    d.iterations.set(s.iterations);
    memcpy(d.salt, s.salt, sizeof d.salt);
    d.wrap.set(static_cast<u32>(s.wrap));
    memcpy(d.iv, s.iv, sizeof d.iv);
    memcpy(d.wrapped_key, s.wrapped_key, sizeof d.wrapped_key);
    memcpy(d.tag, s.tag, sizeof d.tag);
    if (s.type == KsSlotType::Card) {
        KsCardDisk card;
        put_card(s.card, card);
        memcpy(d.type_data, &card, sizeof card);
    }
}

void put_header(Keyslots const& ks, KsHeaderDisk& h) {
    memset(&h, 0, sizeof h);
    memcpy(h.magic, kKsMagic, sizeof h.magic);
    h.version.set(kKsVersion);
    h.header_bytes.set(sizeof(KsHeaderDisk));
    h.slot_bytes.set(sizeof(KsSlotDisk));
    h.slot_count.set(kKsSlots);
    h.file_bytes.set(kKsFileBytes);
    h.data_unit.set(ks.data_unit);
    h.cipher.set(static_cast<u32>(ks.cipher));
    h.key_bytes.set(kKsMasterKeyBytes);
    h.check_alg.set(static_cast<u32>(KsCheckAlg::HmacSha256));
    memcpy(h.uuid, ks.uuid, sizeof h.uuid);
    memcpy(h.check, ks.check, sizeof h.check);
}

}  // namespace

u32 Keyslots::active_slots() const {
    u32 n = 0;
    for (auto const& s : slots)
        n += s.active() ? 1 : 0;
    return n;
}

KsError parse_keyslots(u8 const* data, u64 len, Keyslots& out, u32* bad_slot) {
    // Magic first: a short file that is not a keyslot file at all should say so.
    if (data == nullptr || len < sizeof kKsMagic)
        return KsError::Truncated;
    if (memcmp(data, kKsMagic, sizeof kKsMagic) != 0)
        return KsError::BadMagic;
    if (len < kKsFileBytes) {
        // With the whole header there, a header from another version or layout says more
        // than "truncated" does.
        if (len >= sizeof(KsHeaderDisk)) {
            KsError const e = check_layout(*reinterpret_cast<KsHeaderDisk const*>(data));
            if (e != KsError::Ok)
                return e;
        }
        return KsError::Truncated;
    }
    if (len > kKsFileBytes)
        return KsError::TrailingData;
    auto const& file = *reinterpret_cast<KsFileDisk const*>(data);
    if (KsError const e = check_layout(file.header); e != KsError::Ok)
        return e;
    // The CRC before the remaining fields: random damage reads as "damaged", not as some
    // odd field value.
    if (file_crc(data) != file.header.crc32.get())
        return KsError::ChecksumMismatch;
    if (KsError const e = parse_header(file.header, out); e != KsError::Ok)
        return e;
    for (u32 i = 0; i < kKsSlots; ++i) {
        if (!parse_slot(file.slots[i], out.slots[i])) {
            if (bad_slot != nullptr)
                *bad_slot = i;
            return KsError::BadSlot;
        }
    }
    return out.active_slots() == 0 ? KsError::NoActiveSlot : KsError::Ok;
}

void serialize_keyslots(Keyslots const& ks, KsFileDisk& out) {
    put_header(ks, out.header);
    for (u32 i = 0; i < kKsSlots; ++i)
        put_slot(ks.slots[i], out.slots[i]);
    out.header.crc32.set(file_crc(reinterpret_cast<u8 const*>(&out)));
}

void ks_checked_header(Keyslots const& ks, u8 (&out)[kKsCheckedHeaderBytes]) {
    KsHeaderDisk h;
    put_header(ks, h);
    static_assert(offsetof(KsHeaderDisk, check) == kKsCheckedHeaderBytes);
    memcpy(out, &h, kKsCheckedHeaderBytes);
}

void ks_slot_aad(Keyslots const& ks, u32 index, KsSlot const& slot, u8 (&out)[kKsSlotAadBytes]) {
    KsSlotDisk d;
    put_slot(slot, d);
    static_assert(offsetof(KsSlotDisk, iv) == kKsSlotAadPrefix);
    Le32 idx;
    idx.set(index);
    memcpy(out, ks.uuid, kKsUuidBytes);
    memcpy(out + kKsUuidBytes, idx.b, sizeof idx.b);
    memcpy(out + kKsUuidBytes + 4, &d, kKsSlotAadPrefix);
}

void ks_card_label_fields(KsSlot const& slot, u8 (&out)[kKsCardLabelBytes]) {
    KsCardDisk d;
    put_card(slot.card, d);
    memcpy(out, &d, kKsCardLabelBytes);
}

char const* describe(KsError e) {
    switch (e) {
    case KsError::Ok: return "ok";
    case KsError::Truncated: return "keyslot file is truncated";
    case KsError::TrailingData: return "keyslot file is longer than the format allows";
    case KsError::BadMagic: return "not a thinvisor keyslot file (bad magic)";
    case KsError::UnsupportedVersion: return "keyslot file version is not supported";
    case KsError::BadLayout: return "keyslot file has an invalid layout (sizes or slot count)";
    case KsError::BadDataUnit: return "keyslot file has an invalid data-unit size (not 512 or 4096)";
    case KsError::UnsupportedCipher: return "keyslot file names an unsupported cipher";
    case KsError::BadKeySize: return "keyslot file has an invalid key size";
    case KsError::UnsupportedCheck: return "keyslot file names an unsupported check algorithm";
    case KsError::BadReserved: return "keyslot file has non-zero reserved fields";
    case KsError::ChecksumMismatch: return "keyslot file is corrupt (checksum mismatch)";
    case KsError::BadSlot: return "keyslot file has an invalid slot";
    case KsError::NoActiveSlot: return "keyslot file has no active slot";
    case KsError::WrongPassphrase: return "wrong passphrase (no keyslot opens with it)";
    case KsError::HeaderMismatch: return "keyslot header does not match the master key (header was altered)";
    case KsError::NoFreeSlot: return "no free keyslot";
    case KsError::SlotOutOfRange: return "no such keyslot";
    case KsError::SlotEmpty: return "keyslot is empty";
    case KsError::SlotInUse: return "keyslot is in use";
    case KsError::LastSlot: return "refusing to remove the last active keyslot (the data would be lost)";
    case KsError::BadArgument: return "invalid argument";
    case KsError::RandomFailed: return "no random numbers available";
    case KsError::CryptoFailed: return "cryptographic operation failed";
    case KsError::WrongSlotType: return "the keyslot is of another type (passphrase or card)";
    case KsError::WrongCard: return "the card does not open this keyslot";
    }
    return "unknown keyslot error";
}

}  // namespace tv::crypto
