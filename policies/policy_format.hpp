// The signed file-protection policy (issue 18, docs/policies.md): which bytes of one disk a
// guest may not change. Made by tools/thinvisor-policy from a disk image and a rule file,
// loaded by the monitor as a boot module and enforced by the storage pipeline (storage/).
//
// Layout, all integers little-endian, every structure byte-aligned:
//   PolicyHeader   (64 bytes)
//   PolicyRange    [range_count]   sorted by offset, non-overlapping, none empty
//   path table     (path_bytes)    NUL-terminated paths, each range names one by its offset
//   signature      (64 bytes)      ECDSA P-256 over SHA-256 of every byte before it, r || s
//
// The parser is pure and strict: it checks every length and field and refuses anything the
// compiler would not write, so exactly one encoding exists for a given policy. It does no
// cryptography: verify_policy() (policy_verify.hpp) checks the signature with the pinned key.
#pragma once

#include "core/types.hpp"
#include "crypto/key_policy.hpp"
#include "crypto/le.hpp"

namespace tv::policy {

using crypto::Le16;
using crypto::Le32;
using crypto::Le64;

inline constexpr u8 kMagic[8] = {'T', 'V', 'P', 'O', 'L', 'I', 'C', 'Y'};
inline constexpr u16 kFormatVersion = 1;
inline constexpr u32 kMaxRanges = 4096;        // 96 KiB of ranges: a few hundred files
inline constexpr u32 kMaxPathBytes = 65536;    // the path table
inline constexpr u32 kMaxPathLen = 255;        // one path, without its NUL
inline constexpr u32 kSignatureBytes = 64;     // r || s, 32 bytes each, big-endian
inline constexpr u64 kMaxDiskBytes = u64{1} << 57;  // 2^48 sectors of 512 bytes

// The bus of the disk a policy is for, as storage::Bus numbers it (storage/disk_id.hpp).
// A USB stick is its own bus: a policy for an ATA disk never applies to a stick that
// reports the same serial.
enum class PolicyBus : u8 { Ata = 0, Aoe = 1, Usb = 2 };
// "ata", "aoe", "usb": how thinvisor-policy's --bus, the logs and thinvisor-ctl name it.
char const* policy_bus_name(PolicyBus b);

enum class Action : u8 {
    Protect = 1,     // no write may change these bytes: refused with an ATA error
    AppendOnly = 2,  // the file's bytes up to its current end, enforced as Protect (the bytes
                     // past the end are outside the range, so an append is free)
    Audit = 3,       // allowed, every write that changes them is logged
    Discard = 4,     // acknowledged, but the protected bytes keep their on-disk content
};
char const* action_name(Action a);

struct PolicyHeader {
    u8 magic[8];
    Le16 format_version;
    u8 bus;                 // PolicyBus
    u8 serial_len;          // 1..20: the disk's serial as storage::DiskId trims it
    char serial[20];        // the rest zero
    Le64 policy_version;    // >= 1, larger than the one in force to replace it
    Le32 range_count;       // 1..kMaxRanges
    Le32 path_bytes;        // 1..kMaxPathBytes
    u8 reserved[16];        // zero
};
static_assert(sizeof(PolicyHeader) == 64);

struct PolicyRange {
    Le64 offset;       // disk byte offset
    Le64 length;       // >= 1; offset + length <= kMaxDiskBytes
    u8 action;         // Action
    u8 reserved[3];    // zero
    Le32 path_offset;  // into the path table, at the start of a path
};
static_assert(sizeof(PolicyRange) == 24);

inline constexpr u64 kMinPolicyBytes = sizeof(PolicyHeader) + sizeof(PolicyRange) + 2 + kSignatureBytes;
inline constexpr u64 kMaxPolicyBytes =
    sizeof(PolicyHeader) + u64{kMaxRanges} * sizeof(PolicyRange) + kMaxPathBytes + kSignatureBytes;

struct Range {
    u64 offset, length;
    Action action;
    char const* path;  // into the policy's bytes
};

// A parsed policy: a view of the bytes it was parsed from (which must outlive it).
struct PolicyView {
    PolicyBus bus{PolicyBus::Ata};
    crypto::DiskSerial serial{};
    u64 version{0};
    u32 range_count{0};
    u8 const* ranges{nullptr};     // range_count PolicyRange records
    char const* paths{nullptr};
    u32 path_bytes{0};
    u8 const* signed_bytes{nullptr};  // everything the signature covers
    u64 signed_len{0};
    u8 const* signature{nullptr};     // kSignatureBytes

    // Inline, as the storage pipeline's rule (storage/write_rule) reads ranges without
    // linking the parser.
    Range range(u32 i) const {
        PolicyRange const& r = *reinterpret_cast<PolicyRange const*>(ranges + u64{i} * sizeof(PolicyRange));
        return Range{r.offset.get(), r.length.get(), static_cast<Action>(r.action), paths + r.path_offset.get()};
    }
};

// Whether a policy is meant for this disk: the same bus and the same trimmed serial.
inline bool policy_for_disk(PolicyView const& v, PolicyBus bus, crypto::DiskSerial const& serial) {
    return v.bus == bus && v.serial == serial;
}

enum class ParseError : u8 {
    None,
    Short,         // shorter than a header, or than the lengths it declares
    Long,          // longer than the declared lengths (trailing bytes) or than kMaxPolicyBytes
    Magic,
    Format,        // another format version
    Field,         // a reserved byte set, a bad bus, serial, action, count or version
    Order,         // ranges unsorted, overlapping, empty or past kMaxDiskBytes
    Path,          // a path offset not at a path start, an unterminated or over-long path
};
char const* parse_error_name(ParseError e);

[[nodiscard]] ParseError parse_policy(u8 const* bytes, u64 len, PolicyView& out);

}  // namespace tv::policy
