#include "drivers/ata/ata_command_atapi.hpp"

#include <string.h>

namespace tv::ata {

namespace {

enum class Class : u8 { ReadSide, Write, Never };

struct Entry {
    u8 opcode;
    Class cls;
    Dir dir;
    char const* name;
};

// MMC-6 / SPC-4 opcodes a CD/DVD driver uses (Linux sr + cdrom, Windows cdrom.sys, the
// BIOS's El Torito boot). Direction is the data phase's; None has no data phase.
constexpr Entry kTable[] = {
    // Read-side and media handling: nothing here writes the medium or the drive's firmware.
    {0x00, Class::ReadSide, Dir::None, "TEST UNIT READY"},
    {0x03, Class::ReadSide, Dir::Read, "REQUEST SENSE"},
    {0x12, Class::ReadSide, Dir::Read, "INQUIRY"},
    {0x1A, Class::ReadSide, Dir::Read, "MODE SENSE(6)"},
    {0x1B, Class::ReadSide, Dir::None, "START STOP UNIT"},
    {0x1E, Class::ReadSide, Dir::None, "PREVENT ALLOW MEDIUM REMOVAL"},
    {0x23, Class::ReadSide, Dir::Read, "READ FORMAT CAPACITIES"},
    {0x25, Class::ReadSide, Dir::Read, "READ CAPACITY"},
    {0x28, Class::ReadSide, Dir::Read, "READ(10)"},
    {0x2B, Class::ReadSide, Dir::None, "SEEK(10)"},
    {0x42, Class::ReadSide, Dir::Read, "READ SUB-CHANNEL"},
    {0x43, Class::ReadSide, Dir::Read, "READ TOC/PMA/ATIP"},
    {0x44, Class::ReadSide, Dir::Read, "READ HEADER"},
    {0x45, Class::ReadSide, Dir::None, "PLAY AUDIO(10)"},
    {0x46, Class::ReadSide, Dir::Read, "GET CONFIGURATION"},
    {0x47, Class::ReadSide, Dir::None, "PLAY AUDIO MSF"},
    {0x4A, Class::ReadSide, Dir::Read, "GET EVENT STATUS NOTIFICATION"},
    {0x4B, Class::ReadSide, Dir::None, "PAUSE/RESUME"},
    {0x4E, Class::ReadSide, Dir::None, "STOP PLAY/SCAN"},
    {0x51, Class::ReadSide, Dir::Read, "READ DISC INFORMATION"},
    {0x52, Class::ReadSide, Dir::Read, "READ TRACK INFORMATION"},
    {0x5A, Class::ReadSide, Dir::Read, "MODE SENSE(10)"},
    {0xA4, Class::ReadSide, Dir::Read, "REPORT KEY"},
    {0xA8, Class::ReadSide, Dir::Read, "READ(12)"},
    {0xAD, Class::ReadSide, Dir::Read, "READ DISC STRUCTURE"},
    {0xB9, Class::ReadSide, Dir::Read, "READ CD MSF"},
    {0xBB, Class::ReadSide, Dir::None, "SET CD SPEED"},
    {0xBD, Class::ReadSide, Dir::Read, "MECHANISM STATUS"},
    {0xBE, Class::ReadSide, Dir::Read, "READ CD"},
    // Writing recordable media, or the drive's write parameters: [ide] cd_write decides.
    {0x04, Class::Write, Dir::Write, "FORMAT UNIT"},
    {0x15, Class::Write, Dir::Write, "MODE SELECT(6)"},
    {0x2A, Class::Write, Dir::Write, "WRITE(10)"},
    {0x2E, Class::Write, Dir::Write, "WRITE AND VERIFY(10)"},
    {0x35, Class::Write, Dir::None, "SYNCHRONIZE CACHE"},
    {0x53, Class::Write, Dir::Write, "RESERVE TRACK"},
    {0x54, Class::Write, Dir::Write, "SEND OPC INFORMATION"},
    {0x55, Class::Write, Dir::Write, "MODE SELECT(10)"},
    {0x5B, Class::Write, Dir::None, "CLOSE TRACK/SESSION"},
    {0x5D, Class::Write, Dir::Write, "SEND CUE SHEET"},
    {0xA1, Class::Write, Dir::None, "BLANK"},
    {0xAA, Class::Write, Dir::Write, "WRITE(12)"},
    {0xBF, Class::Write, Dir::Write, "SEND DISC STRUCTURE"},
    // Never: the drive's firmware and its one-way settings.
    {0x3B, Class::Never, Dir::Write, "WRITE BUFFER"},
    {0x3C, Class::Never, Dir::Read, "READ BUFFER"},
    {0xA3, Class::Never, Dir::Write, "SEND KEY"},  // sets the DVD region: a few changes, then fixed for good
};

Entry const* find(u8 opcode) {
    for (Entry const& e : kTable)
        if (e.opcode == opcode) return &e;
    return nullptr;
}

}  // namespace

AtapiVerdict atapi_decode(u8 const (&cdb)[kCdbBytes], bool allow_writes, AtapiCommand* out) {
    Entry const* e = find(cdb[0]);
    *out = AtapiCommand{cdb[0], e ? e->dir : Dir::None, e && e->cls == Class::Write};
    if (!e || e->cls == Class::Never) return AtapiVerdict::RefusedNever;
    if (e->cls == Class::Write && !allow_writes) return AtapiVerdict::RefusedWrite;
    return AtapiVerdict::Allowed;
}

char const* atapi_command_name(u8 opcode) {
    Entry const* e = find(opcode);
    return e ? e->name : "unknown";
}

Sense atapi_refusal_sense(AtapiVerdict v) {
    if (v == AtapiVerdict::RefusedWrite) return Sense{scsi::kSenseDataProtect, scsi::kAscWriteProtected, 0};
    return Sense{scsi::kSenseIllegalRequest, scsi::kAscInvalidOpcode, 0};
}

u8 atapi_error_register(Sense s) { return static_cast<u8>((s.key & 0x0F) << 4 | st::kErrAbrt); }

void atapi_sense_data(Sense s, u8 (&out)[kSenseBytes]) {
    memset(out, 0, sizeof out);
    out[0] = 0x70;  // current error, fixed format
    out[2] = s.key & 0x0F;
    out[7] = kSenseBytes - 8;  // additional sense length
    out[12] = s.asc;
    out[13] = s.ascq;
}

}  // namespace tv::ata
