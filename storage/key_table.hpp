// The keys the volumes use and the one policy that decides what each sector gets.
//
// A table of key entries (one per [disk.NAME] that was unlocked at boot) becomes, per bus, a
// crypto::KeyPolicy (serial -> key, plaintext ranges) and a pool of XTS key schedules, one per
// entry. Volumes (storage/volume.hpp) ask only this module: which key a disk has, and the
// treatment of each run of sectors. Nothing else in the monitor decides a plaintext range.
//
// Disks no entry lists: on the ATA bus they are refused as soon as any disk is configured (a
// forgotten disk is never written in plaintext by accident) and passed through unencrypted
// when none is; the AoE disk, which [aoe] names explicitly, is passed through unless an entry
// with bus = aoe lists it.
//
// The monitor fills the table from core/disk_keys and thinvisor.conf with load_boot_keys();
// host tests install their own with set_keys(). Key schedules live in a fixed pool, so that
// no global has a constructor.
#pragma once

#include "core/config.hpp"
#include "core/types.hpp"
#include "crypto/key_policy.hpp"
#include "crypto/xts.hpp"
#include "storage/disk_id.hpp"

namespace tv::storage {

struct KeyEntry {
    char serial[41];  // as in thinvisor.conf: trimmed text, or "*" for any disk of its bus
    Bus bus;
    u32 data_unit;    // bytes per XTS data unit; must equal the disk's logical sector size
    u8 master_key[64];
    LbaRange plaintext[DiskConfig::kMaxPlainRanges];  // inclusive; may touch but not overlap
    u32 plaintext_count;
};

inline constexpr u32 kMaxKeys = 4;
inline constexpr u64 kLbaLimit = 1ull << 48;  // ATA's 48-bit LBA: no sector at or past it

// Replaces the table (entries must outlive every volume attached to them) and keys the XTS
// pool. disks_configured: thinvisor.conf has [disk.*] sections. NoMemory beyond kMaxKeys;
// Invalid for an entry whose plaintext ranges overlap. An entry whose serial no disk can
// report (blank, over 20 characters) or that repeats an earlier serial of its bus matches
// nothing: the first entry for a disk is the one it gets.
[[nodiscard]] Status set_keys(KeyEntry const* entries, u32 count, bool disks_configured);

// What a disk of this identity is: listed (key and data unit set) or not.
struct KeyLookup {
    bool listed;
    crypto::KeyId key;
    u32 data_unit;
};
KeyLookup lookup(DiskId const& id);
// A disk nobody listed, before or after it is identified: Plaintext or Deny.
crypto::Treatment unlisted_treatment(Bus bus);
// The treatment of sector lba of the disk and how many of the next count sectors share it.
crypto::Decision decide(DiskId const& id, crypto::Lba lba, u64 count);
// The key schedule of a listed disk; only inside an FpuGuard in the monitor.
crypto::Xts& key_schedule(crypto::KeyId key);

// Monitor: builds the table from core/disk_keys and thinvisor.conf once; later calls do
// nothing (each mediator calls it before its first volume attaches). Defined in
// storage/boot_keys.cpp (monitor only); the host tests of the install glue fake it
// (tests/unit/mocks/).
[[nodiscard]] Status load_boot_keys();

}  // namespace tv::storage
