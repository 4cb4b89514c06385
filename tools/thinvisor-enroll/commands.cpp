// The subcommands. Each reads everything and checks everything before it asks for the
// passphrase, and writes the keyslot file once, atomically, at the very end: a failure at any
// step leaves the file as it was.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/keyslot_card.hpp"
#include "crypto/secure_zero.hpp"
#include "tools/thinvisor-disk/cli.hpp"
#include "tools/thinvisor-disk/io.hpp"
#include "tools/thinvisor-enroll/enroll.hpp"

namespace tv::enroll {

using namespace tv::crypto;
using disk::fail;
using disk::kOk;

namespace {

constexpr u64 kMaxCertFile = 64 * 1024;

// The CN cut to the slot's field without splitting a UTF-8 sequence.
void put_subject(std::string const& cn, char (&out)[kKsCardSubjectBytes + 1]) {
    u64 n = cn.size() < kKsCardSubjectBytes ? cn.size() : kKsCardSubjectBytes;
    if (n < cn.size())
        while (n > 0 && (static_cast<u8>(cn[n]) & 0xc0) == 0x80)
            --n;
    memset(out, 0, sizeof out);
    memcpy(out, cn.data(), n);
}

// Exactly one certificate, or a message that lists the candidates.
int one_cert(Options const& o, Cert& out) {
    std::vector<Cert> certs;
    if (int const rc = read_certs(o, certs); rc != kOk)
        return rc;
    if (certs.empty())
        return fail(kBadCard, "no certificate found" + (o.label.empty() ? "" : " labelled '" + o.label + "'"));
    if (certs.size() > 1) {
        std::string msg = "several certificates; choose one with --label (and --token):";
        for (Cert const& c : certs)
            msg += "\n  " + c.where + ": " + c.subject;
        return fail(kBadCard, msg);
    }
    out = std::move(certs[0]);
    return kOk;
}

int check_slot_free(Options const& o, Keyslots const& ks) {
    if (o.slot >= 0) {
        if (o.slot >= static_cast<i64>(kKsSlots))
            return fail(disk::kUsage, "--slot " + std::to_string(o.slot) + ": " + describe(KsError::SlotOutOfRange));
        if (ks.slots[o.slot].active())
            return fail(disk::kUsage, "slot " + std::to_string(o.slot) + " is in use");
    } else if (ks.active_slots() == kKsSlots) {
        return fail(disk::kUsage, describe(KsError::NoFreeSlot));
    }
    return kOk;
}

std::string slot_line(u32 i, KsSlot const& s) {
    if (s.type == KsSlotType::Passphrase)
        return "slot " + std::to_string(i) + ": passphrase (PBKDF2-HMAC-SHA256, " + std::to_string(s.iterations) +
               " iterations)";
    KsCard const& c = s.card;
    return "slot " + std::to_string(i) + ": card '" + c.subject + "', serial " + hex(c.serial, c.serial_len, ':') +
           ", RSA-" + std::to_string(c.rsa_bytes * 8) + ", CAC key " + std::to_string(c.cert_index) +
           ", certificate sha256 " + hex(c.cert_sha256, sizeof c.cert_sha256);
}

}  // namespace

int read_certs(Options const& o, std::vector<Cert>& out) {
    if (o.cert_file.empty() == o.module.empty())
        return fail(disk::kUsage, "name the certificate with exactly one of --cert F and --pkcs11-module SO");
    if (o.module.empty()) {
        std::vector<u8> data;
        int const e = disk::read_small_file(o.cert_file, kMaxCertFile, data);
        if (e != 0)
            return fail(kBadCard, o.cert_file + ": " + (e == EFBIG ? "larger than 64 KiB" : strerror(e)));
        Cert c;
        if (int const rc = parse_cert(data, o.cert_file, c); rc != kOk)
            return rc;
        out.push_back(std::move(c));
        return kOk;
    }
    return read_pkcs11_certs(o, out);
}

int cmd_certs(Options const& o) {
    std::vector<Cert> certs;
    if (int const rc = read_certs(o, certs); rc != kOk)
        return rc;
    for (Cert const& c : certs)
        printf("%s: %s\n  serial %s, RSA-%zu, sha256 %s\n", c.where.c_str(), c.subject.c_str(),
               hex(c.serial.data(), c.serial.size(), ':').c_str(), c.n.size() * 8,
               hex(c.sha256, sizeof c.sha256).c_str());
    return certs.empty() ? fail(kBadCard, "no certificate found") : kOk;
}

int cmd_add(Options const& o) {
    Keyslots ks;
    if (int const rc = disk::load_keyslots(o.keyslots, ks); rc != kOk)
        return rc;
    if (int const rc = check_slot_free(o, ks); rc != kOk)
        return rc;
    Cert cert;
    if (int const rc = one_cert(o, cert); rc != kOk)
        return rc;
    if (u32 const had = ks_card_slots_for(ks, cert.sha256); had != 0)
        return fail(disk::kUsage, "this card is already enrolled in slot " + std::to_string(__builtin_ctz(had)));
    disk::Secret pass;
    if (int const rc = disk::read_passphrase(o.passphrase_file, "Passphrase of the disk: ", false, pass); rc != kOk)
        return rc;
    MasterKey mk;
    if (int const rc = disk::unlock(ks, pass, mk, nullptr); rc != kOk)
        return rc;
    KsCard card;
    memcpy(card.cert_sha256, cert.sha256, sizeof card.cert_sha256);
    card.kind = KsCardKind::Cac;
    card.cert_index = static_cast<u8>(o.card_key);
    card.serial_len = static_cast<u8>(cert.serial.size());
    memcpy(card.serial, cert.serial.data(), cert.serial.size());
    put_subject(cert.cn, card.subject);
    u32 used = 0;
    KsError const e = ks_add_card(ks, mk, card, {cert.n.data(), cert.n.size(), cert.e.data(), cert.e.size()},
                                  disk::host_random(), o.slot < 0 ? kKsAnySlot : static_cast<u32>(o.slot), &used);
    if (e != KsError::Ok)
        return fail(disk::kFailed, describe(e));
    if (int const rc = disk::store_keyslots(o.keyslots, ks, true); rc != kOk)
        return rc;
    printf("%s\n", slot_line(used, ks.slots[used]).c_str());
    return kOk;
}

int cmd_list(Options const& o) {
    Keyslots ks;
    if (int const rc = disk::load_keyslots(o.keyslots, ks); rc != kOk)
        return rc;
    for (u32 i = 0; i < kKsSlots; ++i)
        if (ks.slots[i].active())
            printf("%s\n", slot_line(i, ks.slots[i]).c_str());
    return kOk;
}

int cmd_remove(Options const& o) {
    if (o.slot < 0)
        return fail(disk::kUsage, "remove needs --slot N");
    Keyslots ks;
    if (int const rc = disk::load_keyslots(o.keyslots, ks); rc != kOk)
        return rc;
    if (o.slot >= static_cast<i64>(kKsSlots) || ks.slots[o.slot].type != KsSlotType::Card)
        return fail(disk::kUsage, "slot " + std::to_string(o.slot) +
                                      " is not a card slot (thinvisor-disk remove-key removes passphrases)");
    if (ks.active_slots() == 1)
        return fail(disk::kUsage, describe(KsError::LastSlot));
    // As with thinvisor-disk remove-key: only someone who can open the disk may change its keys.
    disk::Secret pass;
    if (int const rc = disk::read_passphrase(o.passphrase_file, "Passphrase of the disk: ", false, pass); rc != kOk)
        return rc;
    MasterKey mk;
    if (int const rc = disk::unlock(ks, pass, mk, nullptr); rc != kOk)
        return rc;
    std::string const line = slot_line(static_cast<u32>(o.slot), ks.slots[o.slot]);
    if (KsError const e = ks_remove_slot(ks, static_cast<u32>(o.slot)); e != KsError::Ok)
        return fail(disk::kFailed, describe(e));
    if (int const rc = disk::store_keyslots(o.keyslots, ks, true); rc != kOk)
        return rc;
    printf("removed %s\n", line.c_str());
    return kOk;
}

// Does what the monitor does at boot, with the card in a host reader: proves an enrolled card
// (and its PIN) open the disk without booting anything.
int cmd_check(Options const& o) {
    if (o.module.empty())
        return fail(disk::kUsage, "check needs the card: --pkcs11-module SO");
    Keyslots ks;
    if (int const rc = disk::load_keyslots(o.keyslots, ks); rc != kOk)
        return rc;
    Cert cert;
    if (int const rc = one_cert(o, cert); rc != kOk)
        return rc;
    u32 const slots = ks_card_slots_for(ks, cert.sha256);
    if (slots == 0)
        return fail(kBadCard, "the card " + cert.subject + " is not enrolled in " + o.keyslots);
    u32 const slot = static_cast<u32>(__builtin_ctz(slots));
    disk::Secret pin;
    if (int const rc = disk::read_passphrase(o.pin_file, "PIN of the card: ", false, pin); rc != kOk)
        return rc;
    std::vector<u8> const in(ks.slots[slot].card.ciphertext, ks.slots[slot].card.ciphertext + ks.slots[slot].card.rsa_bytes);
    std::vector<u8> em;
    if (int const rc = pkcs11_raw_rsa(o, cert, pin, in, em); rc != kOk)
        return rc;
    MasterKey mk;
    KsError const e = ks_unlock_card(ks, slot, em.data(), em.size(), mk);
    crypto::secure_zero(em.data(), em.size());
    if (e != KsError::Ok)
        return fail(disk::kBadKeyslots, "slot " + std::to_string(slot) + ": " + describe(e));
    printf("the card opens slot %u; the key matches the header check\n", slot);
    return kOk;
}

}  // namespace tv::enroll
