#include "drivers/aoe_disk/aoe_disk_sealed.hpp"

#include <string.h>

namespace tv::ata {

namespace {

constexpr u32 kSector = 512;  // AoE moves 512-byte sectors

DiskResult refused(Lba lba) { return DiskResult{DiskFault::Refused, 0, 0, lba}; }

}  // namespace

storage::DiskId aoe_disk_id(IdentifyParams const& p) {
    u16 id[256];
    build_identify(p, id);
    char raw[storage::kAtaSerialBytes];
    memcpy(raw, &id[10], sizeof raw);  // ATA byte order, as a device sends it
    storage::DiskId d = storage::ata_disk_id(raw);
    d.bus = storage::Bus::Aoe;
    return d;
}

bool SealedBlock::init(BlockDevice* inner, storage::DiskId const& id) {
    inner_ = inner;
    return ok(vol_.attach(id, kSector)) && vol_.policy() != storage::DiskPolicy::Deny;
}

DiskResult SealedBlock::read(Lba lba, u32 count, u8* buf) {
    if (!vol_.allowed(lba, count)) return refused(lba);
    DiskResult r = inner_->read(lba, count, buf);
    if (!r.ok()) return r;
    // What arrived is ciphertext until here; on failure the guest must not get it as data.
    if (!ok(vol_.unseal(lba, buf, count))) {
        memset(buf, 0, u64{count} * kSector);
        return refused(lba);
    }
    return r;
}

DiskResult SealedBlock::write(Lba lba, u32 count, u8 const* buf) {
    if (!vol_.allowed(lba, count)) return refused(lba);
    if (!vol_.active()) return inner_->write(lba, count, buf);
    for (u32 done = 0; done < count;) {
        u32 const n = count - done < kBufSectors ? count - done : kBufSectors;
        memcpy(buf_, buf + u64{done} * kSector, u64{n} * kSector);
        if (!ok(vol_.seal(lba + done, buf_, n))) return refused(lba + done);
        DiskResult r = inner_->write(lba + done, n, buf_);
        if (!r.ok()) return r;
        done += n;
    }
    return DiskResult{DiskFault::None, 0, 0, Lba{0}};
}

}  // namespace tv::ata
