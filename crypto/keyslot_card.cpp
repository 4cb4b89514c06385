#include "crypto/keyslot_card.hpp"

#include <string.h>

#include "crypto/rsa_oaep.hpp"
#include "crypto/secure_zero.hpp"

namespace tv::crypto {

void ks_card_oaep_label(Keyslots const& ks, u32 index, KsSlot const& slot,
                        u8 (&out)[kKsCardOaepLabelBytes]) {
    u64 at = 0;
    memcpy(out, kKsCardLabelPrefix, sizeof kKsCardLabelPrefix - 1);
    at += sizeof kKsCardLabelPrefix - 1;
    memcpy(out + at, ks.uuid, kKsUuidBytes);
    at += kKsUuidBytes;
    Le32 idx;
    idx.set(index);
    memcpy(out + at, idx.b, sizeof idx.b);
    at += sizeof idx.b;
    u8 fields[kKsCardLabelBytes];
    ks_card_label_fields(slot, fields);
    memcpy(out + at, fields, sizeof fields);
}

u32 ks_card_slots_for(Keyslots const& ks, u8 const (&cert_sha256)[32]) {
    u32 mask = 0;
    for (u32 i = 0; i < kKsSlots; ++i) {
        KsSlot const& s = ks.slots[i];
        if (s.type == KsSlotType::Card && memcmp(s.card.cert_sha256, cert_sha256, 32) == 0)
            mask |= 1u << i;
    }
    return mask;
}

KsError ks_unlock_card(Keyslots const& ks, u32 slot, u8 const* em, u64 em_len, MasterKey& mk) {
    if (slot >= kKsSlots)
        return KsError::SlotOutOfRange;
    KsSlot const& s = ks.slots[slot];
    if (s.type != KsSlotType::Card)
        return s.active() ? KsError::WrongSlotType : KsError::SlotEmpty;
    if (em == nullptr || em_len != s.card.rsa_bytes)
        return KsError::WrongCard;
    u8 label[kKsCardOaepLabelBytes];
    ks_card_oaep_label(ks, slot, s, label);
    if (!oaep_decode_sha256(em, em_len, label, sizeof label, mk.bytes, sizeof mk.bytes))
        return KsError::WrongCard;
    KsError const e = ks_check_master_key(ks, mk);
    if (e != KsError::Ok)
        secure_zero(mk.bytes, sizeof mk.bytes);
    return e;
}

}  // namespace tv::crypto
