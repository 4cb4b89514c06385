// USB mass storage, Bulk-Only Transport (USB MSC BOT 1.0): the Command Block Wrapper the host
// sends before each command and the Command Status Wrapper the device answers with, and the
// decode of the disk commands (SCSI SBC) a CBW carries, as the mediator will see them: copied
// out of the guest's bulk-out buffer first, decided on the copy.
//
// The decision: READ and WRITE (6, 10, 12, 16) are media commands, their sectors to go through
// the storage pipeline; the commands that only read the device's state or move no medium data
// (TEST UNIT READY, INQUIRY, REQUEST SENSE, MODE SENSE, READ CAPACITY (10, 16), SYNCHRONIZE
// CACHE, ...) pass; everything that could write the medium outside the pipeline (WRITE SAME,
// UNMAP, FORMAT UNIT, WRITE AND VERIFY, COMPARE AND WRITE, WRITE BUFFER, SECURITY PROTOCOL OUT,
// ATA PASS-THROUGH, MODE SELECT, vendor commands) and every opcode the table does not know are
// refused, with the sense a CHECK CONDITION reports.
//
// Pure: host-tested in tests/unit/test_usb_bot.cpp; used by usb_storage.hpp for both controllers.
#pragma once

#include "core/types.hpp"

namespace tv::usb {

inline constexpr u32 kCbwBytes = 31, kCswBytes = 13;
inline constexpr u32 kCbwSignature = 0x43425355;  // "USBC"
inline constexpr u32 kCswSignature = 0x53425355;  // "USBS"

struct [[gnu::packed]] Cbw {
    u32 signature;
    u32 tag;
    u32 data_length;  // bytes the host expects to move in the data stage
    u8 flags;         // bit 7: data in (device to host)
    u8 lun;           // bits 3:0
    u8 cb_length;     // 1-16
    u8 cb[16];
};
static_assert(sizeof(Cbw) == kCbwBytes);

struct [[gnu::packed]] Csw {
    u32 signature;
    u32 tag;
    u32 residue;
    u8 status;  // CswStatus
};
static_assert(sizeof(Csw) == kCswBytes);

enum class CswStatus : u8 { Passed = 0, Failed = 1, PhaseError = 2 };

// A bulk-out transfer of `len` bytes is a valid CBW: nullptr, with *out the copy; else why not.
[[nodiscard]] char const* parse_cbw(u8 const* buf, u32 len, Cbw* out);
// The CSW that answers cbw with `status` and `residue`.
Csw make_csw(Cbw const& cbw, CswStatus status, u32 residue);

enum class ScsiClass : u8 {
    Read,         // media read: sectors come out of the pipeline
    Write,        // media write: sectors go into the pipeline
    Passthrough,  // no medium data moves, or only the device's own state
    RefusedWrite, // could write the medium outside the pipeline: DATA PROTECT
    Refused,      // unknown, vendor, or never passed: ILLEGAL REQUEST
};

struct ScsiCommand {
    u8 opcode;
    ScsiClass cls;
    bool data_in;  // the data stage is device to host (meaningful for Read/Write/Passthrough)
    Lba lba;       // media commands
    u32 blocks;    // media commands: logical blocks
};

// Decodes the CDB of a parsed CBW (cb_length bytes of cb). A CDB shorter than its opcode's
// length is Refused.
[[nodiscard]] ScsiCommand scsi_decode(u8 const* cdb, u32 len);
char const* scsi_command_name(u8 opcode);

// Whether the CBW's data stage fits the command: a media command moves exactly
// blocks * block_size bytes in its own direction; nullptr when it does, else why not.
[[nodiscard]] char const* check_data_stage(Cbw const& cbw, ScsiCommand const& c, u32 block_size);

// READ CAPACITY (10) and (16) data, as the device returned it: the last LBA and the block
// size (512 or 4096 supported); false when malformed or another block size.
[[nodiscard]] bool parse_capacity10(u8 const* data, u32 len, Lba* last, u32* block_size);
[[nodiscard]] bool parse_capacity16(u8 const* data, u32 len, Lba* last, u32* block_size);

struct ScsiSense {
    u8 key, asc, ascq;
};
// The sense a refused command reports: DATA PROTECT / WRITE PROTECTED for RefusedWrite,
// ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE otherwise.
ScsiSense refusal_sense(ScsiClass cls);

}  // namespace tv::usb
