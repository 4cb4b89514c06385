// One disk as the storage pipeline sees it: its identity, its sector size and, from the key
// table, the treatment of every LBA range. The mediators (IDE and AHCI through
// drivers/ata/sector_crypt, the AoE disk through storage/sealed_block) call only this for
// crypto: allowed() before a media command reaches the device, seal() on the data of a write
// before the device sees it, unseal() on the data of a read before the guest sees it.
//
// The rule for a disk, fixed at attach():
//   - listed in the key table with a key whose data unit is the disk's sector size: Encrypt;
//     within it, each run of sectors is encrypted or left plaintext as crypto::KeyPolicy
//     decides (plaintext ranges of the disk's [disk.NAME] entry);
//   - listed with a key for another data unit: Deny (the offline tool would compute other
//     tweaks; sectors nothing else can read are never written);
//   - not listed: the key table's treatment of unlisted disks of its bus (PassThrough or Deny).
// Before attach() (and after detach()) the disk gets its bus's unlisted treatment.
// File protection (storage/write_rule.hpp): the signed policy in force at attach() gives the
// volume its rules. A mediator asks write_touches_rules() before a write, reads those sectors'
// current content if it can, and calls check_write() on the guest's plaintext before seal().
//
// seal()/unseal() work in place on monitor memory, inside the per-CPU FpuGuard: any CPU may
// call them at any time, each on its own volume or under the volume owner's lock.
#pragma once

#include "core/types.hpp"
#include "crypto/lba.hpp"
#include "storage/disk_id.hpp"
#include "storage/write_rule.hpp"

namespace tv::storage {

enum class DiskPolicy : u8 { PassThrough, Encrypt, Deny };

class Volume final {
  public:
    // Ok with the rule set; Invalid for a sector size that is not 512 or 4096 (then Deny).
    [[nodiscard]] Status attach(DiskId const& id, u32 sector_size);
    void detach();

    bool attached() const { return attached_; }
    bool active() const { return policy() == DiskPolicy::Encrypt; }
    DiskPolicy policy() const;
    u32 sector_size() const { return sector_size_; }
    char const* name() const { return id_.serial.text; }  // the trimmed serial, for log lines

    // False when a media command on these sectors must be refused: a Deny disk, or a run
    // that wraps or reaches past LBA 2^48.
    [[nodiscard]] bool allowed(crypto::Lba lba, u64 sectors) const;
    // Whether a media command's data may move between the device and the guest's own buffers
    // with nothing to transform or check on the way (zero-copy in the mediators, docs/ata.md).
    // A rule that must see or change the data (encryption, a read-before-write) says false.
    [[nodiscard]] bool direct(crypto::Lba lba, u64 sectors, bool write) const {
        if (write && write_touches_rules(lba, sectors)) return false;  // judged in monitor memory
        return policy() == DiskPolicy::PassThrough && allowed(lba, sectors);
    }
    // Refused where allowed() is false; Ok and untouched unless active().
    [[nodiscard]] Status seal(crypto::Lba lba, u8* buf, u64 sectors);
    [[nodiscard]] Status unseal(crypto::Lba lba, u8* buf, u64 sectors);

    // Whether the policy's ranges touch these sectors (then check_write() wants their current
    // content to accept a write that leaves the protected bytes as they are).
    [[nodiscard]] bool write_touches_rules(crypto::Lba lba, u64 sectors) const;
    // The file-protection decision on a write's plaintext (storage/write_rule.hpp): Refused
    // when it would change protected bytes; discard ranges are patched in `buf`. current: the
    // sectors' plaintext on the disk now, or null when the mediator could not read it.
    [[nodiscard]] Status check_write(crypto::Lba lba, u8* buf, u64 sectors, u8 const* current) const;
    DiskId const& id() const { return id_; }

  private:
    [[nodiscard]] Status crypt(bool seal, crypto::Lba lba, u8* buf, u64 sectors);

    DiskId id_{Bus::Ata, {}};
    WriteRules rules_{};
    DiskPolicy policy_{DiskPolicy::Deny};
    bool attached_{false};
    u32 sector_size_{512};
};

}  // namespace tv::storage
