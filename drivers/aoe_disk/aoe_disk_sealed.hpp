// The AoE disk's sectors through the storage pipeline: a BlockDevice between the emulated
// disk (and its INT 13h services) and the AoE target. Reads are unsealed after they arrive,
// writes sealed in a monitor buffer before they leave, so that with a [disk.NAME] entry of
// bus = aoe the target only ever stores ciphertext (docs/aoe.md). Without such an entry the
// volume passes the sectors through unchanged, as before. A write the file-protection policy
// touches is judged first, sector by sector against the target's current content
// (storage/write_rule.hpp): refused as a whole before any of it leaves.
//
// Pure: host-tested against an in-memory BlockDevice (tests/unit/test_aoe_disk_sealed.cpp).
#pragma once

#include "drivers/aoe_disk/aoe_disk_block.hpp"
#include "drivers/aoe_disk/aoe_disk_identify.hpp"
#include "storage/volume.hpp"

namespace tv::ata {

// The AoE disk's identity: bus Aoe and the serial its IDENTIFY block reports.
storage::DiskId aoe_disk_id(IdentifyParams const& p);

class SealedBlock final : public BlockDevice {
  public:
    static constexpr u32 kBufSectors = 256;  // writes are sealed and sent this much at a time

    // Attaches the volume; false (and every access refused) if the key table denies the disk.
    [[nodiscard]] bool init(BlockDevice* inner, storage::DiskId const& id);
    storage::Volume const& volume() const { return vol_; }

    u64 sectors() const override { return inner_->sectors(); }
    [[nodiscard]] DiskResult read(Lba lba, u32 count, u8* buf) override;
    [[nodiscard]] DiskResult write(Lba lba, u32 count, u8 const* buf) override;

  private:
    [[nodiscard]] DiskResult judge(Lba lba, u32 count, u8 const* guest, u8* out);

    BlockDevice* inner_{nullptr};
    storage::Volume vol_{};
    alignas(16) u8 buf_[kBufSectors * 512]{};
    alignas(16) u8 cur_[512]{};    // a sector's current content, for the policy
    alignas(16) u8 probe_[512]{};  // a copy of the guest's sector, judged before anything is sent
};

}  // namespace tv::ata
