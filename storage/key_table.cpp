#include "storage/key_table.hpp"

#include <string.h>

#include "crypto/fpu_guard.hpp"

#if __STDC_HOSTED__
#include <new>
#else
#include "lib/new.hpp"
#endif

namespace tv::storage {

namespace {

// Constructed in place on first use: the monitor refuses .init_array entries.
alignas(crypto::Xts) unsigned char g_xts_storage[kMaxKeys][sizeof(crypto::Xts)];
bool g_xts_built[kMaxKeys];

KeyEntry const* g_entries;
u32 g_entry_count;
bool g_configured;
// Placement-new'd for the same reason as the key schedules: KeyPolicy has member initialisers.
alignas(crypto::KeyPolicy) unsigned char g_policy_storage[kBusCount][sizeof(crypto::KeyPolicy)];
bool g_policy_built;

crypto::Xts& xts(u32 i) { return *reinterpret_cast<crypto::Xts*>(g_xts_storage[i]); }
crypto::KeyPolicy& policy(Bus b) {
    return *reinterpret_cast<crypto::KeyPolicy*>(g_policy_storage[static_cast<u8>(b)]);
}

// One entry into its bus's policy. Invalid only for overlapping plaintext ranges: that is a
// configuration the administrator must fix, not a disk to guess about.
Status add_entry(KeyEntry const& e, u8 index) {
    crypto::DiskSerial serial;
    if (!ok(crypto::make_serial(e.serial, strlen(e.serial), serial))) return Status::Ok;
    crypto::KeyPolicy& p = policy(e.bus);
    if (!ok(p.add_disk(serial, crypto::KeyId{index}))) return Status::Ok;  // Exists: the first entry wins
    for (u32 r = 0; r < e.plaintext_count; ++r) {
        LbaRange const& range = e.plaintext[r];
        if (range.first.raw >= kLbaLimit) continue;  // no such sector can be asked for
        Lba const last{range.last.raw < kLbaLimit ? range.last.raw : kLbaLimit - 1};
        if (!ok(p.add_plaintext_range(serial, range.first, last - range.first + 1)))
            return Status::Invalid;
    }
    return Status::Ok;
}

}  // namespace

Status set_keys(KeyEntry const* entries, u32 count, bool disks_configured) {
    if (count > kMaxKeys) return Status::NoMemory;
    crypto::FpuGuard guard;
    for (u32 i = 0; i < kMaxKeys; ++i)
        if (g_xts_built[i]) xts(i).wipe();
    for (u32 b = 0; b < kBusCount; ++b) new (g_policy_storage[b]) crypto::KeyPolicy();
    g_policy_built = true;
    g_entries = nullptr;
    g_entry_count = 0;
    g_configured = disks_configured;
    if (!ok(policy(Bus::Ata).set_unlisted(disks_configured ? crypto::Treatment::Deny : crypto::Treatment::Plaintext)) ||
        !ok(policy(Bus::Aoe).set_unlisted(crypto::Treatment::Plaintext)) ||
        !ok(policy(Bus::Usb).set_unlisted(crypto::Treatment::Plaintext)))
        return Status::Invalid;
    for (u32 i = 0; i < count; ++i) {
        if (!g_xts_built[i]) {
            new (g_xts_storage[i]) crypto::Xts();
            g_xts_built[i] = true;
        }
        if (Status s = xts(i).set_key(entries[i].master_key); !ok(s)) return s;
        if (Status s = add_entry(entries[i], static_cast<u8>(i)); !ok(s)) return s;
    }
    g_entries = entries;
    g_entry_count = count;
    return Status::Ok;
}

KeyLookup lookup(DiskId const& id) {
    if (!g_policy_built) return KeyLookup{false, {0}, 0};
    crypto::KeyId key{0};
    if (!policy(id.bus).key_of(id.serial, key) || key.raw >= g_entry_count) return KeyLookup{false, {0}, 0};
    return KeyLookup{true, key, g_entries[key.raw].data_unit};
}

crypto::Treatment unlisted_treatment(Bus bus) {
    // USB sticks: the device policy ([usb], drivers/usb/usb_policy) refuses unknown ones.
    if (bus == Bus::Aoe || bus == Bus::Usb || !g_configured) return crypto::Treatment::Plaintext;
    return crypto::Treatment::Deny;
}

crypto::Decision decide(DiskId const& id, crypto::Lba lba, u64 count) {
    if (!g_policy_built) return crypto::Decision{unlisted_treatment(id.bus), {0}, count};
    return policy(id.bus).decide(id.serial, lba, count);
}

crypto::Xts& key_schedule(crypto::KeyId key) { return xts(key.raw); }

}  // namespace tv::storage
