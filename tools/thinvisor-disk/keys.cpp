// The key subcommands: format, add-key, remove-key, verify.
#include <stdio.h>
#include <sys/stat.h>

#include <string>

#include "tools/thinvisor-disk/cli.hpp"

namespace tv::disk {

using namespace tv::crypto;

namespace {

std::string uuid_text(u8 const (&u)[kKsUuidBytes]) {
    std::string s;
    char const* hex = "0123456789abcdef";
    for (u32 i = 0; i < kKsUuidBytes; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            s += '-';
        s += hex[u[i] >> 4];
        s += hex[u[i] & 15];
    }
    return s;
}

int check_iterations(Options const& o) {
    if (o.iterations != 0 && (o.iterations < kKsMinIterations || o.iterations > kKsMaxIterations))
        return fail(kUsage, "--iterations must be between " + std::to_string(kKsMinIterations) + " and " +
                                std::to_string(kKsMaxIterations));
    return kOk;
}

u32 slot_option(Options const& o) { return o.slot < 0 ? kKsAnySlot : static_cast<u32>(o.slot); }

// Adds pass to ks under mk with the options' iteration count and slot; prints the result.
int add_passphrase(Options const& o, Keyslots& ks, MasterKey const& mk, Secret const& pass) {
    u32 const iterations = choose_iterations(o);
    u32 used = 0;
    KsError const e = ks_add_passphrase(ks, mk, pass.data(), pass.size(), iterations, host_random(),
                                        slot_option(o), &used);
    if (e != KsError::Ok)
        return fail(e == KsError::NoFreeSlot || e == KsError::SlotInUse || e == KsError::SlotOutOfRange
                        ? kUsage
                        : kFailed,
                    describe(e));
    printf("passphrase in slot %u (PBKDF2-HMAC-SHA256, %u iterations)\n", used, iterations);
    return kOk;
}

}  // namespace

int cmd_format(Options const& o) {
    u32 const unit = o.sector_size != 0 ? o.sector_size : 512;
    if (unit != 512 && unit != 4096)
        return fail(kUsage, "--sector-size must be 512 or 4096");
    if (int const rc = check_iterations(o); rc != kOk)
        return rc;
    struct stat st{};
    if (!o.force && lstat(o.target.c_str(), &st) == 0)  // before asking for anything
        return fail(kUsage, o.target + ": exists; use --force to replace it (its keys are then lost)");
    Secret pass;
    if (int const rc = read_passphrase(o.passphrase_file, "New passphrase: ", true, pass); rc != kOk)
        return rc;
    Keyslots ks;
    MasterKey mk;
    if (KsError const e = ks_create(ks, mk, unit, host_random()); e != KsError::Ok)
        return fail(kFailed, describe(e));
    if (int const rc = add_passphrase(o, ks, mk, pass); rc != kOk)
        return rc;
    if (int const rc = store_keyslots(o.target, ks, o.force); rc != kOk)
        return rc;
    printf("created %s: aes-256-xts-plain64, %u-byte sectors, uuid %s\n", o.target.c_str(), unit,
           uuid_text(ks.uuid).c_str());
    return kOk;
}

int cmd_add_key(Options const& o) {
    if (int const rc = check_iterations(o); rc != kOk)
        return rc;
    Keyslots ks;
    if (int const rc = load_keyslots(o.target, ks); rc != kOk)
        return rc;
    if (ks.active_slots() == kKsSlots)
        return fail(kUsage, describe(KsError::NoFreeSlot));
    Secret pass;
    if (int const rc = read_passphrase(o.passphrase_file, "Existing passphrase: ", false, pass); rc != kOk)
        return rc;
    MasterKey mk;
    if (int const rc = unlock(ks, pass, mk, nullptr); rc != kOk)
        return rc;
    Secret added;
    if (int const rc = read_passphrase(o.new_passphrase_file, "New passphrase: ", true, added); rc != kOk)
        return rc;
    if (int const rc = add_passphrase(o, ks, mk, added); rc != kOk)
        return rc;
    return store_keyslots(o.target, ks, true);
}

int cmd_remove_key(Options const& o) {
    if (o.slot < 0)
        return fail(kUsage, "remove-key needs --slot N");
    Keyslots ks;
    if (int const rc = load_keyslots(o.target, ks); rc != kOk)
        return rc;
    // The cheap refusals first, before any passphrase is asked for.
    u32 const slot = static_cast<u32>(o.slot);
    if (slot >= kKsSlots)
        return fail(kUsage, describe(KsError::SlotOutOfRange));
    if (!ks.slots[slot].active())
        return fail(kUsage, describe(KsError::SlotEmpty));
    if (ks.active_slots() == 1)
        return fail(kUsage, describe(KsError::LastSlot));
    // Removing a key needs a passphrase that opens the set: proof of authority.
    Secret pass;
    if (int const rc = read_passphrase(o.passphrase_file, "Passphrase: ", false, pass); rc != kOk)
        return rc;
    MasterKey mk;
    if (int const rc = unlock(ks, pass, mk, nullptr); rc != kOk)
        return rc;
    if (KsError const e = ks_remove_slot(ks, slot); e != KsError::Ok)
        return fail(kUsage, describe(e));
    if (int const rc = store_keyslots(o.target, ks, true); rc != kOk)
        return rc;
    printf("removed slot %u\n", slot);
    return kOk;
}

int cmd_verify(Options const& o) {
    Keyslots ks;
    if (int const rc = load_keyslots(o.target, ks); rc != kOk)
        return rc;
    printf("%s: thinvisor keyslots v%u, aes-256-xts-plain64, %u-byte sectors, uuid %s\n",
           o.target.c_str(), kKsVersion, ks.data_unit, uuid_text(ks.uuid).c_str());
    for (u32 i = 0; i < kKsSlots; ++i) {
        if (ks.slots[i].type == KsSlotType::Passphrase)
            printf("  slot %u: passphrase, PBKDF2-HMAC-SHA256, %u iterations\n", i, ks.slots[i].iterations);
        else if (ks.slots[i].type == KsSlotType::Card)  // thinvisor-enroll manages these
            printf("  slot %u: card, RSA-OAEP-SHA256 (%u-bit), '%s'\n", i, ks.slots[i].card.rsa_bytes * 8,
                   ks.slots[i].card.subject);
    }
    if (o.no_unlock)
        return kOk;
    Secret pass;
    if (int const rc = read_passphrase(o.passphrase_file, "Passphrase: ", false, pass); rc != kOk)
        return rc;
    MasterKey mk;
    u32 slot = 0;
    if (int const rc = unlock(ks, pass, mk, &slot); rc != kOk)
        return rc;
    printf("passphrase opens slot %u; the key matches the header check\n", slot);
    return kOk;
}

}  // namespace tv::disk
