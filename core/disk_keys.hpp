// Disk keys unlocked at boot: for every [disk.NAME] in thinvisor.conf, its keyslot file
// (a boot module) is opened with a passphrase asked on the console, before the guest runs.
// The keys stay in monitor memory only; they are never logged.
#pragma once

#include "core/boot_info.hpp"
#include "core/config.hpp"

namespace tv {

struct UnlockedDisk {
    char name[32];
    DiskBus bus;
    char serial[41];
    u32 data_unit;     // bytes per XTS data unit (the disk's logical sector)
    u8 master_key[64]; // XTS K1 || K2
};

// Unlocks every configured disk. Returns false (after telling the person at the console
// why) when a keyslot file is missing or invalid, or the passphrase was wrong too often.
[[nodiscard]] bool disk_keys_unlock(Config const& cfg, BootInfo const& bi);
u32 unlocked_disk_count();
UnlockedDisk const* unlocked_disk(u32 i);

}  // namespace tv
