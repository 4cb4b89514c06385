// ATAPI (PACKET) commands as the IDE mediator sees them: the 12-byte SCSI/MMC command block
// the guest wrote to the data port, copied into the monitor and decoded against an
// allow-list before the device gets it.
//
// Optical drives pass through unencrypted (a CD or DVD is not the guest's disk), so the
// allow-list is about what leaves the machine and what changes the drive: the read-side and
// media-handling commands pass; commands that write recordable media (a burner is a way to
// carry data off the machine) pass only when thinvisor.conf says `[ide] cd_write = allow`;
// firmware download, vendor commands and every opcode the table does not know are refused.
// A refused command ends in CHECK CONDITION with the sense this file builds (DATA PROTECT /
// WRITE PROTECTED for a write, ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE otherwise).
// docs/ata.md ("ATAPI") lists the commands and the reasons.
//
// Pure: host-tested in tests/unit/test_ata_command_atapi.cpp, fuzzed by fuzz_atapi.
#pragma once

#include "drivers/ata/ata_command.hpp"

namespace tv::ata {

inline constexpr u32 kCdbBytes = 12;  // ATAPI packets are 12 bytes (IDENTIFY PACKET word 0 bits 1:0 = 0)
inline constexpr u32 kSenseBytes = 18;  // fixed-format sense data as REQUEST SENSE returns it

enum class AtapiVerdict : u8 {
    Allowed,
    RefusedWrite,    // writes recordable media (or drive write parameters); [ide] cd_write decides
    RefusedNever,    // firmware download, vendor specific, or unknown: never passed
};

struct AtapiCommand {
    u8 opcode;
    Dir dir;        // Read: device to memory; None: no data phase
    bool writes;    // in the write class (allowed only because the policy says so)
};

struct Sense {
    u8 key, asc, ascq;
};

namespace scsi {
inline constexpr u8 kTestUnitReady = 0x00;
inline constexpr u8 kRequestSense = 0x03;
inline constexpr u8 kInquiry = 0x12;
inline constexpr u8 kRead10 = 0x28;
inline constexpr u8 kWrite10 = 0x2A;
inline constexpr u8 kWriteBuffer = 0x3B;
inline constexpr u8 kBlank = 0xA1;
inline constexpr u8 kWrite12 = 0xAA;
inline constexpr u8 kSenseIllegalRequest = 0x05;
inline constexpr u8 kSenseDataProtect = 0x07;
inline constexpr u8 kAscInvalidOpcode = 0x20;
inline constexpr u8 kAscWriteProtected = 0x27;
}  // namespace scsi

// Decodes the copy of the command block. `allow_writes` is [ide] cd_write = allow. The
// verdict is Allowed or the reason for the refusal; *out is filled either way.
[[nodiscard]] AtapiVerdict atapi_decode(u8 const (&cdb)[kCdbBytes], bool allow_writes, AtapiCommand* out);

// "READ(10)", ... or "unknown".
char const* atapi_command_name(u8 opcode);

// The sense a refusal reports, and its two faces: the ATAPI error register (sense key in
// 7:4, ABRT) and fixed-format sense data (18 bytes, response code 70h) for REQUEST SENSE.
Sense atapi_refusal_sense(AtapiVerdict v);
u8 atapi_error_register(Sense s);
void atapi_sense_data(Sense s, u8 (&out)[kSenseBytes]);

}  // namespace tv::ata
