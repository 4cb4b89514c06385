// ATA over Ethernet (Coraid AoE specification, revision 1) on the wire: the frame layouts,
// a builder for the two commands an initiator sends (ATA, Query Config) and a strict parser.
// Pure byte work: no state, no hardware. Multi-byte header fields are big-endian; the six LBA
// bytes of the ATA argument are little-endian (lba0 first), as in the ATA task file.
#pragma once

#include "core/types.hpp"

namespace tv::aoe {

inline constexpr u16 kEtherType = 0x88A2;
inline constexpr u8 kVersion = 1;
inline constexpr size_t kSectorSize = 512;
inline constexpr size_t kMinEthFrame = 60;  // shorter frames are zero-padded to this on the wire
inline constexpr size_t kMaxConfigString = 1024;

// Header flags (low nibble of the ver/flags byte).
inline constexpr u8 kFlagResponse = 0x08;
inline constexpr u8 kFlagError = 0x04;

// ATA argument aflags.
inline constexpr u8 kAflagExtended = 0x40;  // LBA48 command: all six LBA bytes count
inline constexpr u8 kAflagDevice = 0x10;    // device/head bit; only meaningful with E
inline constexpr u8 kAflagAsync = 0x02;
inline constexpr u8 kAflagWrite = 0x01;

// Broadcast addresses for Query Config: every shelf / every slot answers.
inline constexpr u16 kAnyShelf = 0xFFFF;
inline constexpr u8 kAnySlot = 0xFF;

enum class Command : u8 {
    Ata = 0,
    QueryConfig = 1,
};

enum class ConfigCmd : u8 {  // Query Config sub-command (low nibble of ver/ccmd)
    Read = 0,
    TestExact = 1,
    TestPrefix = 2,
    Set = 3,
    ForceSet = 4,
};

enum class TargetError : u8 {  // the header's error field when kFlagError is set
    None = 0,
    UnrecognizedCommand = 1,
    BadArgument = 2,
    DeviceUnavailable = 3,
    ConfigStringPresent = 4,
    UnsupportedVersion = 5,
    TargetReserved = 6,
};

struct Mac {
    u8 b[6];
    constexpr bool operator==(Mac const&) const = default;
};
inline constexpr Mac kBroadcastMac{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};

// ---- wire layouts (byte arrays only, so they have no padding and no alignment) ----

struct WireHeader {  // Ethernet header + AoE common header
    u8 dst[6];
    u8 src[6];
    u8 ethertype[2];
    u8 ver_flags;  // version << 4 | flags
    u8 error;
    u8 major[2];  // shelf
    u8 minor;     // slot
    u8 command;
    u8 tag[4];
};
static_assert(sizeof(WireHeader) == 24);

struct WireAtaArg {
    u8 aflags;
    u8 err_feature;
    u8 sector_count;
    u8 cmd_status;
    u8 lba[6];  // lba0 (bits 0-7) ... lba5 (bits 40-47)
    u8 reserved[2];
};
static_assert(sizeof(WireAtaArg) == 12);

struct WireConfigArg {
    u8 buffer_count[2];  // outstanding commands the target can queue
    u8 firmware[2];
    u8 sector_count;  // most sectors one ATA command may carry (0: not advertised)
    u8 ver_ccmd;      // AoE version << 4 | ConfigCmd
    u8 string_len[2];
};
static_assert(sizeof(WireConfigArg) == 8);

inline constexpr size_t kHeaderLen = sizeof(WireHeader);
inline constexpr size_t kAtaHeaderLen = kHeaderLen + sizeof(WireAtaArg);        // 36
inline constexpr size_t kConfigHeaderLen = kHeaderLen + sizeof(WireConfigArg);  // 32

// ---- decoded form (host byte order) ----

struct AtaFields {
    u8 aflags;
    u8 err_feature;
    u8 sector_count;
    u8 cmd_status;
    u64 lba;  // the raw 48-bit field (for 28-bit commands byte 3 also carries device bits)
};

struct ConfigFields {
    u16 buffer_count;
    u16 firmware;
    u8 max_sectors;
    u8 aoe_version;
    ConfigCmd ccmd;
    u16 string_len;
};

// Everything needed to build a frame, and what the parser returns. The payload (ATA data or
// the config string) is not copied: it points into the caller's bytes.
struct Frame {
    Mac dst;
    Mac src;
    u8 version;  // filled by the parser; the builder always writes kVersion
    u8 flags;    // kFlag*
    u8 error;
    u16 shelf;
    u8 slot;
    Command command;
    u32 tag;
    AtaFields ata;        // command == Ata
    ConfigFields config;  // command == QueryConfig
    u8 const* payload;
    size_t payload_len;
};

enum class ParseResult : u8 {
    Ok,
    NotAoe,          // another ethertype: not ours to judge
    Truncated,       // shorter than the header its command needs
    BadVersion,      // AoE version other than 1
    UnknownCommand,  // a command this initiator never sends
    BadLength,       // the length disagrees with the content (partial sector, stray bytes,
                     // config string running past the end)
};

// The 28-bit form of an LBA for the six LBA bytes: bits 0-27 plus the device register's
// LBA-mode and obsolete bits (0xE0) in byte 3, which is where a 28-bit command expects them.
constexpr u64 lba28_field(u64 lba) { return (lba & 0x0FFFFFFFull) | (u64{0xE0} << 24); }

// Writes the frame (zero-padded to kMinEthFrame) to out. For an ATA frame the payload is the
// data (a multiple of kSectorSize); for Query Config it is the config string.
// Invalid if the payload does not fit its field, NoMemory if cap is too small.
[[nodiscard]] Status build_frame(Frame const& f, u8* out, size_t cap, size_t* out_len);

// Strict parse. Frames shorter than kMinEthFrame are accepted (vblade sends 32-byte config
// replies); padding is only accepted up to kMinEthFrame, so a frame's length must be exactly
// what its content says, or within the minimum-frame padding. Once the 24-byte common header
// is there its fields are filled in even when the result is not Ok, so the caller can still
// tell whom a frame with an unknown command or version was meant for.
[[nodiscard]] ParseResult parse_frame(u8 const* bytes, size_t len, Frame* out);

}  // namespace tv::aoe
