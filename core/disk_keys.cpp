#include "core/disk_keys.hpp"

#include <stdio.h>
#include <string.h>

#include "core/config_load.hpp"
#include "core/console_prompt.hpp"
#include "core/log.hpp"
#include "crypto/fpu_guard.hpp"
#include "crypto/keyslot.hpp"
#include "crypto/secure_zero.hpp"
// Not a mediator: the boot-time USB host driver that reaches the card before the guest runs.
#include "drivers/usb/host/card_boot.hpp"

namespace tv {

namespace {

UnlockedDisk g_disks[Config::kMaxDisks];
u32 g_count;
crypto::Keyslots g_slots;  // big; kept off the 64 KiB boot stack

bool load_keyslots(DiskConfig const& d, BootInfo const& bi) {
    BootModule const* m = find_module(bi, d.keyslots);
    if (!m) {
        console("thinvisor: disk '%s': keyslot file '%s' was not loaded as a boot module", d.name, d.keyslots);
        return false;
    }
    u32 bad_slot = 0;
    crypto::KsError e = crypto::parse_keyslots(static_cast<u8 const*>(m->copy), m->end - m->start, g_slots, &bad_slot);
    if (e != crypto::KsError::Ok) {
        console("thinvisor: disk '%s': keyslot file '%s' refused: %s", d.name, d.keyslots, crypto::describe(e));
        return false;
    }
    return true;
}

// One passphrase attempt; the passphrase is wiped before returning.
crypto::KsError try_unlock(DiskConfig const& d, u32 tries_left, UnlockedDisk& out, u32* slot) {
    char prompt[96];
    snprintf(prompt, sizeof prompt, "thinvisor: passphrase for disk '%s' (%u tries left): ", d.name, tries_left);
    char pass[256];
    size_t n = prompt_read_secret(prompt, pass, sizeof pass);
    crypto::MasterKey mk;
    crypto::KsError e;
    {
        crypto::FpuGuard fpu;  // mbedTLS uses AES-NI/PCLMUL: the guest's SSE state is saved
        e = crypto::ks_unlock(g_slots, reinterpret_cast<u8 const*>(pass), n, mk, slot);
    }
    crypto::secure_zero(pass, sizeof pass);
    if (e == crypto::KsError::Ok) memcpy(out.master_key, mk.bytes, sizeof out.master_key);
    return e;
}

// The monitor's copies of the keyslot files are needed only to unlock: afterwards nothing
// of them stays in memory (a later hole in the monitor would otherwise leak them too).
void forget_keyslot_files(Config const& cfg, BootInfo const& bi) {
    for (u32 i = 0; i < cfg.disk_count; ++i)
        if (BootModule const* m = find_module(bi, cfg.disks[i].keyslots); m && m->copy)
            crypto::secure_zero(m->copy, m->end - m->start);
}

// A disk with card slots tries the card first (docs/smartcard.md). True when it is settled:
// *opened says whether the card opened it; false when the boot must stop (PIN refused).
bool try_card(DiskConfig const& d, Config const& cfg, UnlockedDisk& out, bool* opened) {
    *opened = false;
    u32 cards = 0, passphrases = 0;
    for (auto const& s : g_slots.slots) {
        cards += s.type == crypto::KsSlotType::Card ? 1 : 0;
        passphrases += s.type == crypto::KsSlotType::Passphrase ? 1 : 0;
    }
    if (cards == 0) return true;
    crypto::MasterKey mk;
    u32 slot = 0;
    usb::host::CardBootParams p;
    p.disk_name = d.name;
    p.pin_tries = cfg.keys.passphrase_tries;
    p.hide_reader = cfg.card.hide_reader;
    usb::host::CardBoot const r = usb::host::card_boot_unlock(g_slots, p, mk, slot);
    if (r == usb::host::CardBoot::Unlocked) {
        memcpy(out.master_key, mk.bytes, sizeof out.master_key);
        log("keys: disk '%s' unlocked with card slot %u", d.name, slot);
        *opened = true;
        return true;
    }
    // The reader could not be kept from the guest: unlocking by passphrase would still show it.
    if (r == usb::host::CardBoot::CannotHide) {
        console("thinvisor: disk '%s': [card] reader = hide, but the card reader is on a USB controller whose ports "
                "the monitor cannot hide (xHCI only); halting", d.name);
        return false;
    }
    // Issue 17 asks for a halt here, not the passphrase: the PIN attempts already spent the
    // tries of this boot. The passphrase stays reachable by booting without the card.
    if (r == usb::host::CardBoot::TooManyPins || r == usb::host::CardBoot::PinBlocked ||
        r == usb::host::CardBoot::KeyRefused) {
        char const* why = r == usb::host::CardBoot::TooManyPins  ? "too many wrong PINs"
                          : r == usb::host::CardBoot::PinBlocked ? "the card's PIN is blocked"
                                                                 : "the card's answer does not open it";
        console("thinvisor: the card did not open disk '%s' (%s); the passphrase is not asked, halting", d.name, why);
        return false;
    }
    char const* why = r == usb::host::CardBoot::NotEnrolled ? "this card is not enrolled for the disk"
                      : r == usb::host::CardBoot::NoCard    ? "no card was inserted"
                      : r == usb::host::CardBoot::NoReader  ? "no smart-card reader was found"
                                                            : "the card reader failed";
    char line[160];
    snprintf(line, sizeof line, "thinvisor: disk '%s': %s%s\n", d.name, why,
             passphrases ? "; asking for the passphrase instead" : "");
    prompt_print(line);
    return passphrases != 0;
}

bool unlock_all(Config const& cfg, BootInfo const& bi) {
    for (u32 i = 0; i < cfg.disk_count; ++i) {
        DiskConfig const& d = cfg.disks[i];
        if (!load_keyslots(d, bi)) return false;
        UnlockedDisk& out = g_disks[g_count];
        bool opened = false;
        if (!try_card(d, cfg, out, &opened)) {
            crypto::secure_zero(&g_slots, sizeof g_slots);
            return false;
        }
        for (u32 t = 0; t < cfg.keys.passphrase_tries && !opened; ++t) {
            u32 slot = 0;
            crypto::KsError e = try_unlock(d, cfg.keys.passphrase_tries - t, out, &slot);
            if (e == crypto::KsError::Ok) {
                opened = true;
                log("keys: disk '%s' unlocked with slot %u", d.name, slot);
            } else if (e == crypto::KsError::WrongPassphrase) {
                prompt_print("thinvisor: wrong passphrase\n");
                log("keys: disk '%s': wrong passphrase", d.name);
            } else {
                console("thinvisor: disk '%s': %s", d.name, crypto::describe(e));
                return false;
            }
        }
        u32 data_unit = g_slots.data_unit;
        crypto::secure_zero(&g_slots, sizeof g_slots);
        if (!opened) {
            console("thinvisor: too many wrong passphrases for disk '%s'", d.name);
            return false;
        }
        memcpy(out.name, d.name, sizeof out.name);
        out.bus = d.bus;
        memcpy(out.serial, d.serial, sizeof out.serial);
        out.data_unit = data_unit;
        ++g_count;
    }
    return true;
}

}  // namespace

bool disk_keys_unlock(Config const& cfg, BootInfo const& bi) {
    bool const unlocked = unlock_all(cfg, bi);
    crypto::secure_zero(&g_slots, sizeof g_slots);  // also after a refusal part-way
    forget_keyslot_files(cfg, bi);
    return unlocked;
}

u32 unlocked_disk_count() { return g_count; }
UnlockedDisk const* unlocked_disk(u32 i) { return i < g_count ? &g_disks[i] : nullptr; }

}  // namespace tv
