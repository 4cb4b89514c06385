#include "drivers/ata/sector_crypt.hpp"

#include <string.h>

#include "crypto/fpu_guard.hpp"
#include "crypto/key_policy.hpp"
#include "crypto/xts.hpp"

#if __STDC_HOSTED__
#include <new>
#else
#include "core/config_load.hpp"
#include "core/disk_keys.hpp"
#include "core/log.hpp"
#include "lib/new.hpp"
#endif

namespace tv::ata {

namespace {

// The key schedules: an Xts per table entry, constructed in place on first use so that no
// global has a constructor or destructor (the monitor refuses .init_array entries).
alignas(crypto::Xts) unsigned char g_xts_storage[kMaxKeys][sizeof(crypto::Xts)];
bool g_xts_built[kMaxKeys];

DiskKeyEntry const* g_entries;
u32 g_entry_count;
bool g_configured;
crypto::FpuSaveArea g_fpu;  // one guard at a time: the monitor runs one vCPU

crypto::Xts& xts(u32 i) { return *reinterpret_cast<crypto::Xts*>(g_xts_storage[i]); }

bool is_wildcard(char const* s) { return s[0] == '*' && s[1] == 0; }

// Serial as trimmed text: the raw ATA string has its characters swapped in each word.
Status serial_text(char const raw[kSerialBytes], crypto::DiskSerial& out) {
    char text[kSerialBytes];
    for (u32 i = 0; i < kSerialBytes; i += 2) {
        text[i] = raw[i + 1];
        text[i + 1] = raw[i];
    }
    return crypto::make_serial(text, kSerialBytes, out);
}

}  // namespace

Status sector_crypt_set_keys(DiskKeyEntry const* entries, u32 count, bool disks_configured) {
    if (count > kMaxKeys) return Status::NoMemory;
    crypto::FpuGuard guard{g_fpu};
    for (u32 i = 0; i < kMaxKeys; ++i)
        if (g_xts_built[i]) xts(i).wipe();
    for (u32 i = 0; i < count; ++i) {
        if (!g_xts_built[i]) {
            new (g_xts_storage[i]) crypto::Xts();
            g_xts_built[i] = true;
        }
        if (Status s = xts(i).set_key(entries[i].master_key); !ok(s)) return s;
    }
    g_entries = entries;
    g_entry_count = count;
    g_configured = disks_configured;
    return Status::Ok;
}

Status SectorCrypt::attach(char const serial[kSerialBytes], u32 logical_sector_size) {
    attached_ = true;
    policy_ = DiskPolicy::Deny;
    sector_size_ = logical_sector_size;
    crypto::DiskSerial s;
    if (!ok(serial_text(serial, s))) s = crypto::DiskSerial{};  // no usable serial: only "*" matches
    memcpy(serial_, s.text, sizeof serial_);
    if (logical_sector_size != 512 && logical_sector_size != 4096) return Status::Invalid;
    for (u32 i = 0; i < g_entry_count; ++i) {
        DiskKeyEntry const& e = g_entries[i];
        crypto::DiskSerial want;
        bool const match = is_wildcard(e.serial) ||
                           (s.len && ok(crypto::make_serial(e.serial, strlen(e.serial), want)) && want == s);
        if (!match) continue;
        // A key made for another data unit would give other tweaks than the offline tool:
        // refuse the disk rather than write sectors nothing else can read.
        if (e.data_unit != logical_sector_size) return Status::Ok;
        key_ = static_cast<u8>(i);
        policy_ = DiskPolicy::Encrypt;
        return Status::Ok;
    }
    if (!g_configured) policy_ = DiskPolicy::PassThrough;
    return Status::Ok;
}

void SectorCrypt::detach() {
    attached_ = false;
    policy_ = DiskPolicy::Deny;
}

DiskPolicy SectorCrypt::policy() const {
    if (attached_) return policy_;
    return g_configured ? DiskPolicy::Deny : DiskPolicy::PassThrough;
}

bool SectorCrypt::allowed(u64 lba, u32 sectors) const {
    if (policy() == DiskPolicy::Deny) return false;
    constexpr u64 kLbaLimit = 1ull << 48;
    return lba < kLbaLimit && sectors <= kLbaLimit - lba;
}

Status SectorCrypt::encrypt(u64 lba, u8* buf, u32 sectors) { return crypt(true, lba, buf, sectors); }
Status SectorCrypt::decrypt(u64 lba, u8* buf, u32 sectors) { return crypt(false, lba, buf, sectors); }

Status SectorCrypt::crypt(bool enc, u64 lba, u8* buf, u32 sectors) {
    if (!allowed(lba, sectors)) return Status::Refused;
    if (!active()) return Status::Ok;
    DiskKeyEntry const& e = g_entries[key_];
    crypto::FpuGuard guard{g_fpu};
    while (sectors) {
        // The run up to the next plaintext boundary shares one treatment.
        u64 run = sectors;
        bool plain = false;
        for (u32 r = 0; r < e.plaintext_count; ++r) {
            LbaRange const& p = e.plaintext[r];
            if (lba >= p.first && lba <= p.last) {
                plain = true;
                run = p.last - lba + 1 < run ? p.last - lba + 1 : run;
            } else if (p.first > lba && p.first - lba < run) {
                run = p.first - lba;
            }
        }
        if (!plain) {
            Status s = enc ? xts(key_).encrypt_sectors(crypto::Lba{lba}, sector_size_, buf, buf, run)
                           : xts(key_).decrypt_sectors(crypto::Lba{lba}, sector_size_, buf, buf, run);
            if (!ok(s)) return s;
        }
        lba += run;
        buf += run * sector_size_;
        sectors -= static_cast<u32>(run);
    }
    return Status::Ok;
}

u32 logical_sector_size(u16 const (&identify)[256]) {
    u16 const w106 = identify[106];
    bool const valid = (w106 & 0xC000) == 0x4000;
    if (!valid || !(w106 & (1u << 12))) return 512;
    u32 const words = identify[117] | (static_cast<u32>(identify[118]) << 16);
    return words * 2;
}

void identify_serial(u16 const (&identify)[256], char (&serial)[kSerialBytes]) {
    memcpy(serial, &identify[10], kSerialBytes);
}

#if !__STDC_HOSTED__
namespace {
DiskKeyEntry g_boot_entries[kMaxKeys];
bool g_boot_loaded;
}  // namespace

Status sector_crypt_load_boot_keys() {
    if (g_boot_loaded) return Status::Ok;
    Config const* cfg = config();
    u32 const n = unlocked_disk_count();
    if (n > kMaxKeys) return Status::NoMemory;
    for (u32 i = 0; i < n; ++i) {
        UnlockedDisk const* d = unlocked_disk(i);
        DiskKeyEntry& e = g_boot_entries[i];
        memcpy(e.serial, d->serial, sizeof e.serial);
        e.data_unit = d->data_unit;
        memcpy(e.master_key, d->master_key, sizeof e.master_key);
        e.plaintext_count = 0;
        // disk_keys unlocks the config's disks in order, so the names pair them up.
        for (u32 c = 0; cfg && c < cfg->disk_count; ++c) {
            if (strcmp(cfg->disks[c].name, d->name) != 0) continue;
            e.plaintext_count = cfg->disks[c].plaintext_count;
            memcpy(e.plaintext, cfg->disks[c].plaintext, sizeof e.plaintext);
        }
    }
    Status s = sector_crypt_set_keys(g_boot_entries, n, cfg && cfg->disk_count > 0);
    if (ok(s)) g_boot_loaded = true;
    log("ata: %u disk key(s) loaded; disks not listed are %s", n,
        cfg && cfg->disk_count ? "refused" : "passed through unencrypted");
    return s;
}
#endif

}  // namespace tv::ata
