// The per-disk crypto glue of the ATA mediators (IDE and AHCI): which key a disk uses, which
// of its sectors are encrypted, plaintext or refused, and the XTS calls themselves.
//
// The rule for a disk, decided at attach() from its IDENTIFY serial (docs/ata.md):
//   - a [disk.NAME] whose serial matches (or serial = "*") and whose unlocked key has the
//     disk's logical sector size as data unit: Encrypt, except its plaintext ranges;
//   - no [disk.*] in thinvisor.conf at all (or no thinvisor.conf): PassThrough, the disk is
//     used unencrypted, as without the monitor;
//   - otherwise (disks are configured, this one is not among them, or its key's data unit
//     differs from the sector size): Deny, every media command is refused. A forgotten disk
//     is never written in plaintext by accident.
// Before attach() a disk is PassThrough if no disk is configured and Deny otherwise.
//
// Keys: attach() looks them up in a table (DiskKeyEntry). The monitor fills it from
// core/disk_keys and thinvisor.conf with sector_crypt_load_boot_keys(); host tests install
// their own with sector_crypt_set_keys(). Key schedules live in a fixed pool inside
// sector_crypt.cpp (an Xts per table entry), so a SectorCrypt is trivially constructible and
// destructible and may be a global in the monitor.
//
// encrypt()/decrypt() run XTS inside an FpuGuard on a save area of this module: they are not
// reentrant across CPUs (the monitor runs one vCPU).
#pragma once

#include "core/config.hpp"
#include "core/types.hpp"

namespace tv::ata {

inline constexpr u32 kSerialBytes = 20;  // IDENTIFY words 10-19

struct DiskKeyEntry {
    char serial[41];  // as in thinvisor.conf: trimmed text, or "*" for any disk
    u32 data_unit;    // bytes per XTS data unit; must equal the disk's logical sector size
    u8 master_key[64];
    LbaRange plaintext[DiskConfig::kMaxPlainRanges];
    u32 plaintext_count;
};

// Replaces the table attach() consults (entries must outlive every SectorCrypt attached to
// them) and keys the XTS pool from it. disks_configured: thinvisor.conf has [disk.*] sections
// (then unmatched disks are Deny). At most kMaxKeys entries; NoMemory beyond.
inline constexpr u32 kMaxKeys = 4;
[[nodiscard]] Status sector_crypt_set_keys(DiskKeyEntry const* entries, u32 count, bool disks_configured);

#if !__STDC_HOSTED__
// Monitor: builds the table from core/disk_keys and thinvisor.conf once; later calls do
// nothing (the IDE and the AHCI mediator both call it).
[[nodiscard]] Status sector_crypt_load_boot_keys();
#endif

enum class DiskPolicy : u8 { PassThrough, Encrypt, Deny };

class SectorCrypt {
  public:
    // After IDENTIFY: picks the disk's key by its serial (IDENTIFY words 10-19, the raw
    // byte-swapped ATA string, exactly as read from the device) and its logical sector size
    // (IDENTIFY words 106/117-118; see logical_sector_size()). Ok with the policy set;
    // Invalid for a sector size that is not 512 or 4096 (the disk is then Deny).
    [[nodiscard]] Status attach(char const serial[kSerialBytes], u32 logical_sector_size);
    void detach();  // back to the pre-IDENTIFY state (device reset or removal)

    bool active() const { return policy_ == DiskPolicy::Encrypt; }
    bool attached() const { return attached_; }
    DiskPolicy policy() const;
    u32 sector_size() const { return sector_size_; }
    char const* disk_name() const { return serial_; }  // trimmed serial, for log lines

    // In place, on monitor memory, inside an FpuGuard. Splits at plaintext ranges (those
    // sectors are left as they are). Nothing to do unless active(). Refused for a Deny disk.
    [[nodiscard]] Status encrypt(u64 lba, u8* buf, u32 sectors);
    [[nodiscard]] Status decrypt(u64 lba, u8* buf, u32 sectors);
    // False when a media command on these sectors must be refused: a Deny disk, or a range
    // that wraps or runs past 2^48.
    [[nodiscard]] bool allowed(u64 lba, u32 sectors) const;

  private:
    [[nodiscard]] Status crypt(bool enc, u64 lba, u8* buf, u32 sectors);

    DiskPolicy policy_{DiskPolicy::Deny};
    bool attached_{false};
    u8 key_{0};  // index into the key table and the XTS pool
    u32 sector_size_{512};
    char serial_[kSerialBytes + 1]{};
};

// Logical sector size from an IDENTIFY block: 512 unless word 106 is valid (bit 14 set, bit
// 15 clear) and says "logical sector longer than 256 words" (bit 12), then words 117-118
// (in 16-bit words) times 2.
u32 logical_sector_size(u16 const (&identify)[256]);
// The raw serial bytes (words 10-19, as the device sends them) out of an IDENTIFY block.
void identify_serial(u16 const (&identify)[256], char (&serial)[kSerialBytes]);

}  // namespace tv::ata
