// The ATA face of the storage pipeline (storage/): IDE and AHCI hold one SectorCrypt per disk
// and call it for every media command. It only turns what ATA gives (the raw IDENTIFY serial,
// the logical sector size, a u64 LBA) into the pipeline's terms; which key a disk uses and
// which of its sectors are encrypted, plaintext or refused is decided by storage::Volume and
// the key table behind it (docs/storage.md).
//
// The rule for a disk, fixed at attach() from its IDENTIFY serial (docs/ata.md):
//   - a [disk.NAME] whose serial matches (or serial = "*") and whose unlocked key has the
//     disk's logical sector size as data unit: Encrypt, except its plaintext ranges;
//   - no [disk.*] in thinvisor.conf at all (or no thinvisor.conf): PassThrough;
//   - otherwise: Deny, every media command is refused.
// Before attach() a disk is PassThrough if no disk is configured and Deny otherwise.
#pragma once

#include "core/config.hpp"
#include "core/types.hpp"
#include "storage/key_table.hpp"
#include "storage/volume.hpp"

namespace tv::ata {

inline constexpr u32 kSerialBytes = storage::kAtaSerialBytes;  // IDENTIFY words 10-19

// The key table's entries and loader under the names the ATA code and its tests use.
using DiskKeyEntry = storage::KeyEntry;
inline constexpr u32 kMaxKeys = storage::kMaxKeys;
[[nodiscard]] inline Status sector_crypt_set_keys(DiskKeyEntry const* entries, u32 count, bool disks_configured) {
    return storage::set_keys(entries, count, disks_configured);
}
[[nodiscard]] inline Status sector_crypt_load_boot_keys() { return storage::load_boot_keys(); }

using storage::DiskPolicy;

class SectorCrypt {
  public:
    // After IDENTIFY: serial = IDENTIFY words 10-19 as read from the device, logical sector
    // size from logical_sector_size(). Invalid for a size other than 512 or 4096 (then Deny).
    [[nodiscard]] Status attach(char const (&serial)[kSerialBytes], u32 logical_sector_size) {
        return vol_.attach(storage::ata_disk_id(serial), logical_sector_size);
    }
    void detach() { vol_.detach(); }  // back to the pre-IDENTIFY state (reset or removal)

    bool active() const { return vol_.active(); }
    bool attached() const { return vol_.attached(); }
    DiskPolicy policy() const { return vol_.policy(); }
    u32 sector_size() const { return vol_.sector_size(); }
    char const* disk_name() const { return vol_.name(); }

    // In place, on monitor memory (storage::Volume::seal/unseal).
    [[nodiscard]] Status encrypt(Lba lba, u8* buf, u32 sectors) { return vol_.seal(lba, buf, sectors); }
    [[nodiscard]] Status decrypt(Lba lba, u8* buf, u32 sectors) { return vol_.unseal(lba, buf, sectors); }
    [[nodiscard]] bool allowed(Lba lba, u32 sectors) const { return vol_.allowed(lba, sectors); }
    // The pipeline's choice of path: true when the data may go zero-copy between the device
    // and the guest's validated buffers (storage::Volume::direct).
    [[nodiscard]] bool zero_copy(Lba lba, u32 sectors, bool write) const { return vol_.direct(lba, sectors, write); }
    // File protection (storage/write_rule.hpp), on a write's plaintext before encrypt().
    [[nodiscard]] bool write_touches_rules(Lba lba, u32 sectors) const { return vol_.write_touches_rules(lba, sectors); }
    [[nodiscard]] Status check_write(Lba lba, u8* buf, u32 sectors, u8 const* current) const {
        return vol_.check_write(lba, buf, sectors, current);
    }

  private:
    storage::Volume vol_;
};

// Logical sector size from an IDENTIFY block: 512 unless word 106 is valid (bit 14 set, bit
// 15 clear) and says "logical sector longer than 256 words" (bit 12), then words 117-118
// (in 16-bit words) times 2.
u32 logical_sector_size(u16 const (&identify)[256]);
// The raw serial bytes (words 10-19, as the device sends them) out of an IDENTIFY block.
void identify_serial(u16 const (&identify)[256], char (&serial)[kSerialBytes]);

}  // namespace tv::ata
