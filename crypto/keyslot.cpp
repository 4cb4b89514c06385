#include "crypto/keyslot.hpp"

#include <mbedtls/gcm.h>
#include <string.h>

#include "crypto/kdf.hpp"
#include "crypto/secure_zero.hpp"

namespace tv::crypto {

namespace {

constexpr char kCheckLabel[] = "thinvisor keyslots check v1";
constexpr u32 kKekBytes = 32;

// A key-encryption key that wipes itself.
struct Kek {
    u8 bytes[kKekBytes]{};
    Kek() = default;
    ~Kek() { secure_zero(bytes, sizeof bytes); }
    Kek(Kek const&) = delete;
    Kek& operator=(Kek const&) = delete;
};

// mbedtls_gcm_free zeroizes the context, including the expanded KEK.
class Gcm final {
  public:
    Gcm() { mbedtls_gcm_init(&ctx_); }
    ~Gcm() { mbedtls_gcm_free(&ctx_); }
    Gcm(Gcm const&) = delete;
    Gcm& operator=(Gcm const&) = delete;

    [[nodiscard]] bool set_key(Kek const& kek) {
        return mbedtls_gcm_setkey(&ctx_, MBEDTLS_CIPHER_ID_AES, kek.bytes, kKekBytes * 8) == 0;
    }
    mbedtls_gcm_context* get() { return &ctx_; }

  private:
    mbedtls_gcm_context ctx_;
};

bool compute_check(Keyslots const& ks, MasterKey const& mk, u8 (&out)[kKsCheckBytes]) {
    u8 header[kKsCheckedHeaderBytes];
    ks_checked_header(ks, header);
    static_assert(kKsCheckBytes == kSha256Bytes);
    return hmac_sha256(mk.bytes, sizeof mk.bytes, reinterpret_cast<u8 const*>(kCheckLabel),
                       sizeof kCheckLabel - 1, header, sizeof header, out);
}

bool derive_kek(KsSlot const& s, u8 const* pass, u64 pass_len, Kek& kek) {
    return s.kdf == KsKdf::Pbkdf2Sha256 &&
           pbkdf2_sha256(pass, pass_len, s.salt, sizeof s.salt, s.iterations, kek.bytes, kKekBytes);
}

KsError seal_slot(Keyslots const& ks, u32 index, KsSlot& s, MasterKey const& mk, Kek const& kek) {
    u8 aad[kKsSlotAadBytes];
    ks_slot_aad(ks, index, s, aad);
    Gcm gcm;
    if (!gcm.set_key(kek))
        return KsError::CryptoFailed;
    int const rc = mbedtls_gcm_crypt_and_tag(gcm.get(), MBEDTLS_GCM_ENCRYPT, sizeof mk.bytes, s.iv,
                                             sizeof s.iv, aad, sizeof aad, mk.bytes, s.wrapped_key,
                                             sizeof s.tag, s.tag);
    return rc == 0 ? KsError::Ok : KsError::CryptoFailed;
}

// Ok and mk filled if the tag verifies; WrongPassphrase if it does not.
KsError open_slot(Keyslots const& ks, u32 index, u8 const* pass, u64 pass_len, MasterKey& mk) {
    KsSlot const& s = ks.slots[index];
    if (s.type == KsSlotType::Card)
        return KsError::WrongSlotType;
    if (s.type != KsSlotType::Passphrase || s.wrap != KsWrap::Aes256Gcm)
        return KsError::SlotEmpty;
    Kek kek;
    if (!derive_kek(s, pass, pass_len, kek))
        return KsError::CryptoFailed;
    u8 aad[kKsSlotAadBytes];
    ks_slot_aad(ks, index, s, aad);
    Gcm gcm;
    if (!gcm.set_key(kek))
        return KsError::CryptoFailed;
    int const rc = mbedtls_gcm_auth_decrypt(gcm.get(), sizeof s.wrapped_key, s.iv, sizeof s.iv, aad,
                                            sizeof aad, s.tag, sizeof s.tag, s.wrapped_key,
                                            mk.bytes);
    if (rc == MBEDTLS_ERR_GCM_AUTH_FAILED)
        return KsError::WrongPassphrase;  // mbedTLS has already wiped the output
    return rc == 0 ? ks_check_master_key(ks, mk) : KsError::CryptoFailed;
}

}  // namespace

MasterKey::~MasterKey() { secure_zero(bytes, sizeof bytes); }

KsError ks_check_master_key(Keyslots const& ks, MasterKey const& mk) {
    u8 expect[kKsCheckBytes];
    if (!compute_check(ks, mk, expect))
        return KsError::CryptoFailed;
    return ct_equal(expect, ks.check, sizeof expect) ? KsError::Ok : KsError::HeaderMismatch;
}

KsError ks_create(Keyslots& ks, MasterKey& mk, u32 data_unit, Random const& rng) {
    if (data_unit != 512 && data_unit != 4096)
        return KsError::BadDataUnit;
    ks = Keyslots{};
    ks.data_unit = data_unit;
    ks.cipher = KsCipher::Aes256XtsPlain64;
    if (!rng(ks.uuid, sizeof ks.uuid) || !rng(mk.bytes, sizeof mk.bytes))
        return KsError::RandomFailed;
    // XTS refuses equal halves; with 256 random bits each this never happens, but a broken
    // generator (all zeros) must fail here rather than at the first sector.
    if (ct_equal(mk.bytes, mk.bytes + kKsMasterKeyBytes / 2, kKsMasterKeyBytes / 2))
        return KsError::RandomFailed;
    return compute_check(ks, mk, ks.check) ? KsError::Ok : KsError::CryptoFailed;
}

KsError ks_add_passphrase(Keyslots& ks, MasterKey const& mk, u8 const* pass, u64 pass_len,
                          u32 iterations, Random const& rng, u32 slot, u32* used) {
    if (pass == nullptr || pass_len == 0 || iterations < kKsMinIterations ||
        iterations > kKsMaxIterations)
        return KsError::BadArgument;
    if (slot == kKsAnySlot) {
        for (slot = 0; slot < kKsSlots && ks.slots[slot].active(); ++slot) {
        }
        if (slot == kKsSlots)
            return KsError::NoFreeSlot;
    } else if (slot >= kKsSlots) {
        return KsError::SlotOutOfRange;
    } else if (ks.slots[slot].active()) {
        return KsError::SlotInUse;
    }
    if (KsError const e = ks_check_master_key(ks, mk); e != KsError::Ok)
        return e;
    KsSlot s;
    s.type = KsSlotType::Passphrase;
    s.kdf = KsKdf::Pbkdf2Sha256;
    s.iterations = iterations;
    s.wrap = KsWrap::Aes256Gcm;
    if (!rng(s.salt, sizeof s.salt) || !rng(s.iv, sizeof s.iv))
        return KsError::RandomFailed;
    Kek kek;
    if (!derive_kek(s, pass, pass_len, kek))
        return KsError::CryptoFailed;
    if (KsError const e = seal_slot(ks, slot, s, mk, kek); e != KsError::Ok)
        return e;
    ks.slots[slot] = s;
    if (used != nullptr)
        *used = slot;
    return KsError::Ok;
}

KsError ks_remove_slot(Keyslots& ks, u32 slot) {
    if (slot >= kKsSlots)
        return KsError::SlotOutOfRange;
    if (!ks.slots[slot].active())
        return KsError::SlotEmpty;
    if (ks.active_slots() == 1)
        return KsError::LastSlot;
    secure_zero(&ks.slots[slot], sizeof ks.slots[slot]);
    ks.slots[slot] = KsSlot{};
    return KsError::Ok;
}

KsError ks_unlock_slot(Keyslots const& ks, u32 slot, u8 const* pass, u64 pass_len, MasterKey& mk) {
    if (pass == nullptr || pass_len == 0)
        return KsError::BadArgument;
    if (slot >= kKsSlots)
        return KsError::SlotOutOfRange;
    KsError const e = open_slot(ks, slot, pass, pass_len, mk);
    if (e != KsError::Ok)
        secure_zero(mk.bytes, sizeof mk.bytes);
    return e;
}

KsError ks_unlock(Keyslots const& ks, u8 const* pass, u64 pass_len, MasterKey& mk, u32* opened) {
    if (pass == nullptr || pass_len == 0)
        return KsError::BadArgument;
    for (u32 i = 0; i < kKsSlots; ++i) {
        if (ks.slots[i].type != KsSlotType::Passphrase)  // card slots open with a card only
            continue;
        KsError const e = ks_unlock_slot(ks, i, pass, pass_len, mk);
        if (e == KsError::WrongPassphrase)
            continue;
        if (e == KsError::Ok && opened != nullptr)
            *opened = i;
        return e;
    }
    return KsError::WrongPassphrase;
}

}  // namespace tv::crypto
