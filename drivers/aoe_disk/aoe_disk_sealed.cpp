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

// Each sector the policy touches against its current content (read and unsealed here). With
// `out`, the monitor's copy about to be sent, discard ranges are put back in it; without, the
// guest's sectors are judged on a scratch copy, so that a refusal comes before any write.
DiskResult SealedBlock::judge(Lba lba, u32 count, u8 const* guest, u8* out) {
    for (u32 i = 0; i < count; ++i) {
        if (!vol_.write_touches_rules(lba + i, 1)) continue;
        DiskResult r = read(lba + i, 1, cur_);
        if (!r.ok()) return r;
        u8* sector = out ? out + u64{i} * kSector : probe_;
        if (!out) memcpy(probe_, guest + u64{i} * kSector, kSector);
        if (!ok(vol_.check_write(lba + i, sector, 1, cur_))) return refused(lba + i);
    }
    return DiskResult{DiskFault::None, 0, 0, Lba{0}};
}

DiskResult SealedBlock::write(Lba lba, u32 count, u8 const* buf) {
    if (!vol_.allowed(lba, count)) return refused(lba);
    bool const ruled = vol_.write_touches_rules(lba, count);
    if (!vol_.active() && !ruled) return inner_->write(lba, count, buf);
    if (ruled) {
        DiskResult r = judge(lba, count, buf, nullptr);
        if (!r.ok()) return r;
    }
    for (u32 done = 0; done < count;) {
        u32 const n = count - done < kBufSectors ? count - done : kBufSectors;
        memcpy(buf_, buf + u64{done} * kSector, u64{n} * kSector);
        if (ruled) {
            DiskResult r = judge(lba + done, n, buf_, buf_);
            if (!r.ok()) return r;
        }
        if (!ok(vol_.seal(lba + done, buf_, n))) return refused(lba + done);
        DiskResult r = inner_->write(lba + done, n, buf_);
        if (!r.ok()) return r;
        done += n;
    }
    return DiskResult{DiskFault::None, 0, 0, Lba{0}};
}

}  // namespace tv::ata
