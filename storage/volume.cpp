#include "storage/volume.hpp"

#include "crypto/fpu_guard.hpp"
#include "storage/key_table.hpp"

namespace tv::storage {

namespace {

DiskPolicy policy_of(crypto::Treatment t) {
    return t == crypto::Treatment::Plaintext ? DiskPolicy::PassThrough : DiskPolicy::Deny;
}

}  // namespace

Status Volume::attach(DiskId const& id, u32 sector_size) {
    id_ = id;
    attached_ = true;
    policy_ = DiskPolicy::Deny;
    sector_size_ = sector_size;
    rules_ = rules_for(id);
    if (sector_size != 512 && sector_size != 4096) return Status::Invalid;
    KeyLookup const k = lookup(id);
    if (!k.listed)
        policy_ = policy_of(unlisted_treatment(id.bus));
    else if (k.data_unit == sector_size)
        policy_ = DiskPolicy::Encrypt;
    return Status::Ok;
}

void Volume::detach() {
    attached_ = false;
    policy_ = DiskPolicy::Deny;
    rules_ = WriteRules{};
}

DiskPolicy Volume::policy() const {
    return attached_ ? policy_ : policy_of(unlisted_treatment(id_.bus));
}

bool Volume::allowed(crypto::Lba lba, u64 sectors) const {
    if (policy() == DiskPolicy::Deny) return false;
    return lba.raw < kLbaLimit && sectors <= kLbaLimit - lba.raw;
}

bool Volume::write_touches_rules(crypto::Lba lba, u64 sectors) const {
    return allowed(lba, sectors) && rules_.touches(lba.raw, sectors, sector_size_);
}

Status Volume::check_write(crypto::Lba lba, u8* buf, u64 sectors, u8 const* current) const {
    if (!allowed(lba, sectors)) return Status::Refused;
    return rules_.check(id_, lba.raw, sectors, sector_size_, buf, current, audit_sink());
}

Status Volume::seal(crypto::Lba lba, u8* buf, u64 sectors) { return crypt(true, lba, buf, sectors); }
Status Volume::unseal(crypto::Lba lba, u8* buf, u64 sectors) { return crypt(false, lba, buf, sectors); }

Status Volume::crypt(bool seal, crypto::Lba lba, u8* buf, u64 sectors) {
    if (!allowed(lba, sectors)) return Status::Refused;
    if (!active()) return Status::Ok;
    crypto::FpuGuard guard;
    while (sectors) {
        crypto::Decision const d = decide(id_, lba, sectors);
        if (d.sectors == 0 || d.sectors > sectors) return Status::Invalid;  // never loop or overrun
        if (d.treatment == crypto::Treatment::Deny) return Status::Refused;
        if (d.treatment == crypto::Treatment::Encrypt) {
            crypto::Xts& x = key_schedule(d.key);
            Status s = seal ? x.encrypt_sectors(lba, sector_size_, buf, buf, d.sectors)
                            : x.decrypt_sectors(lba, sector_size_, buf, buf, d.sectors);
            if (!ok(s)) return s;
        }
        lba.raw += d.sectors;
        buf += d.sectors * sector_size_;
        sectors -= d.sectors;
    }
    return Status::Ok;
}

}  // namespace tv::storage
