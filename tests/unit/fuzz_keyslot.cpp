// libFuzzer target for the keyslot parser. Built by `make crypto-fuzz` (mk/crypto.mk); run by
// `make crypto-fuzz-run`.
//
// Odd first byte: the rest is parsed as it is (truncation, magic, layout, CRC paths).
// Even first byte: the rest is laid over a valid file image and the CRC fixed up, so that the
// fuzzer gets past the checksum and exercises every field check.
// Invariants: a file the parser accepts is valid by the format's rules and serializes back
// to exactly the same bytes (one encoding per key set: nothing unchecked can hide in it).
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crc32.hpp"
#include "crypto/keyslot_format.hpp"

using namespace tv;
using namespace tv::crypto;

namespace {

void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

// A structurally valid image with one passphrase slot and one card slot (their key material
// is arbitrary: the parser does no cryptography).
KsFileDisk base_image() {
    Keyslots ks;
    ks.slots[0].type = KsSlotType::Passphrase;
    ks.slots[0].kdf = KsKdf::Pbkdf2Sha256;
    ks.slots[0].iterations = kKsMinIterations;
    ks.slots[0].wrap = KsWrap::Aes256Gcm;
    ks.slots[1].type = KsSlotType::Card;
    ks.slots[1].wrap = KsWrap::RsaOaepSha256;
    ks.slots[1].card.rsa_bytes = kKsCardMaxRsaBytes;
    ks.slots[1].card.serial_len = 1;
    memset(ks.slots[1].card.ciphertext, 0x5a, sizeof ks.slots[1].card.ciphertext);
    KsFileDisk f;
    serialize_keyslots(ks, f);
    return f;
}

void fix_crc(u8* raw) {
    u8 const zero[4] = {};
    u32 const at = offsetof(KsHeaderDisk, crc32);
    u32 crc = crc32_update(0, raw, at);
    crc = crc32_update(crc, zero, sizeof zero);
    crc = crc32_update(crc, raw + at + 4, kKsFileBytes - at - 4);
    Le32 le;
    le.set(crc);
    memcpy(raw + at, le.b, 4);
}

void check_accepted(Keyslots const& ks, u8 const* input) {
    check(ks.data_unit == 512 || ks.data_unit == 4096, "data unit");
    check(ks.active_slots() >= 1, "an active slot");
    for (KsSlot const& s : ks.slots) {
        if (!s.active())
            continue;
        if (s.type == KsSlotType::Card) {
            check(s.kdf == KsKdf::None && s.iterations == 0 && s.wrap == KsWrap::RsaOaepSha256,
                  "a card slot has no passphrase fields");
            check(s.card.rsa_bytes >= kKsCardMinRsaBytes && s.card.rsa_bytes <= kKsCardMaxRsaBytes,
                  "card key size");
            check(s.card.serial_len >= 1 && s.card.serial_len <= kKsCardSerialBytes, "serial length");
            check(strlen(s.card.subject) <= kKsCardSubjectBytes, "subject is terminated");
            continue;
        }
        check(s.type == KsSlotType::Passphrase, "slot type");
        check(s.iterations >= kKsMinIterations && s.iterations <= kKsMaxIterations, "iterations");
    }
    KsFileDisk again;
    serialize_keyslots(ks, again);
    check(memcmp(&again, input, sizeof again) == 0, "serialize(parse(x)) == x");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
    if (size == 0)
        return 0;
    bool const overlay = (data[0] & 1) == 0;
    ++data;
    --size;
    static u8 image[kKsFileBytes + 64];
    u8 const* input = data;
    u64 len = size;
    if (overlay) {
        static KsFileDisk const base = base_image();  // the same for every input
        memcpy(image, &base, sizeof base);
        u64 const n = size < sizeof image ? size : sizeof image;
        memcpy(image, data, n);  // the fuzzer's bytes over the start of a valid image
        len = n > kKsFileBytes ? n : kKsFileBytes;
        if (len >= kKsFileBytes)
            fix_crc(image);
        input = image;
    }
    Keyslots ks;
    u32 bad_slot = kKsSlots;
    KsError const e = parse_keyslots(input, len, ks, &bad_slot);
    check(describe(e)[0] != '\0', "a message for every error");
    if (e == KsError::BadSlot)
        check(bad_slot < kKsSlots, "BadSlot names a slot");
    if (e == KsError::Ok)
        check_accepted(ks, input);
    return 0;
}
