// The monitor's key table: the keys core/disk_keys unlocked at boot, paired with their
// [disk.NAME] entries of thinvisor.conf. Monitor only (host tests call set_keys()).
#include "storage/key_table.hpp"

#if !__STDC_HOSTED__

#include <string.h>

#include "core/config_load.hpp"
#include "core/disk_keys.hpp"
#include "core/log.hpp"

namespace tv::storage {

namespace {

KeyEntry g_boot_entries[kMaxKeys];
bool g_boot_loaded;

void fill(KeyEntry& e, UnlockedDisk const& d, Config const* cfg) {
    memcpy(e.serial, d.serial, sizeof e.serial);
    e.bus = d.bus == DiskBus::Aoe ? Bus::Aoe : d.bus == DiskBus::Usb ? Bus::Usb : Bus::Ata;
    e.data_unit = d.data_unit;
    memcpy(e.master_key, d.master_key, sizeof e.master_key);
    e.plaintext_count = 0;
    // disk_keys unlocks the config's disks in order, so the names pair them up.
    for (u32 c = 0; cfg && c < cfg->disk_count; ++c) {
        if (strcmp(cfg->disks[c].name, d.name) != 0) continue;
        e.plaintext_count = cfg->disks[c].plaintext_count;
        memcpy(e.plaintext, cfg->disks[c].plaintext, sizeof e.plaintext);
    }
}

}  // namespace

Status load_boot_keys() {
    if (g_boot_loaded) return Status::Ok;
    Config const* cfg = config();
    u32 const n = unlocked_disk_count();
    if (n > kMaxKeys) return Status::NoMemory;
    for (u32 i = 0; i < n; ++i) fill(g_boot_entries[i], *unlocked_disk(i), cfg);
    // USB sticks' entries do not make unlisted ATA disks refused: a machine that enrols its
    // sticks keeps booting from the plain disk it had (docs/storage.md).
    u32 ata_like = 0;
    for (u32 c = 0; cfg && c < cfg->disk_count; ++c) ata_like += cfg->disks[c].bus != DiskBus::Usb;
    Status s = set_keys(g_boot_entries, n, ata_like > 0);
    if (ok(s)) g_boot_loaded = true;
    else log("storage: the disk keys were refused (overlapping plaintext ranges?)");
    log("storage: %u disk key(s) loaded; ATA disks not listed are %s", n,
        ata_like ? "refused" : "passed through unencrypted");
    return s;
}

}  // namespace tv::storage

#endif
