// BOT wrappers and the disk CDB decode (usb_bot.hpp).
#include "drivers/usb/usb_bot.hpp"

#include <string.h>

namespace tv::usb {

namespace {

u32 be16(u8 const* p) { return u32{p[0]} << 8 | p[1]; }
u32 be32(u8 const* p) { return u32{p[0]} << 24 | u32{p[1]} << 16 | u32{p[2]} << 8 | p[3]; }
u64 be64(u8 const* p) { return u64{be32(p)} << 32 | be32(p + 4); }

struct Entry {
    u8 opcode;
    u8 length;  // CDB bytes
    ScsiClass cls;
    bool data_in;
    char const* name;
};

// The table: opcodes not listed are Refused.
constexpr Entry kTable[] = {
    {0x00, 6, ScsiClass::Passthrough, false, "TEST UNIT READY"},
    {0x03, 6, ScsiClass::Passthrough, true, "REQUEST SENSE"},
    {0x04, 6, ScsiClass::RefusedWrite, false, "FORMAT UNIT"},
    {0x07, 6, ScsiClass::RefusedWrite, false, "REASSIGN BLOCKS"},
    {0x08, 6, ScsiClass::Read, true, "READ(6)"},
    {0x0A, 6, ScsiClass::Write, false, "WRITE(6)"},
    {0x12, 6, ScsiClass::Passthrough, true, "INQUIRY"},
    {0x15, 6, ScsiClass::RefusedWrite, false, "MODE SELECT(6)"},
    {0x1A, 6, ScsiClass::Passthrough, true, "MODE SENSE(6)"},
    {0x1B, 6, ScsiClass::Passthrough, false, "START STOP UNIT"},
    {0x1E, 6, ScsiClass::Passthrough, false, "PREVENT ALLOW MEDIUM REMOVAL"},
    {0x23, 10, ScsiClass::Passthrough, true, "READ FORMAT CAPACITIES"},
    {0x25, 10, ScsiClass::Passthrough, true, "READ CAPACITY(10)"},
    {0x28, 10, ScsiClass::Read, true, "READ(10)"},
    {0x2A, 10, ScsiClass::Write, false, "WRITE(10)"},
    {0x2E, 10, ScsiClass::RefusedWrite, false, "WRITE AND VERIFY(10)"},
    {0x35, 10, ScsiClass::Passthrough, false, "SYNCHRONIZE CACHE(10)"},
    {0x3B, 10, ScsiClass::RefusedWrite, false, "WRITE BUFFER"},
    {0x3F, 10, ScsiClass::RefusedWrite, false, "WRITE LONG(10)"},
    {0x41, 10, ScsiClass::RefusedWrite, false, "WRITE SAME(10)"},
    {0x42, 10, ScsiClass::RefusedWrite, false, "UNMAP"},
    {0x4D, 10, ScsiClass::Passthrough, true, "LOG SENSE"},
    {0x55, 10, ScsiClass::RefusedWrite, false, "MODE SELECT(10)"},
    {0x5A, 10, ScsiClass::Passthrough, true, "MODE SENSE(10)"},
    {0x85, 16, ScsiClass::RefusedWrite, false, "ATA PASS-THROUGH(16)"},
    {0x88, 16, ScsiClass::Read, true, "READ(16)"},
    {0x89, 16, ScsiClass::RefusedWrite, false, "COMPARE AND WRITE"},
    {0x8A, 16, ScsiClass::Write, false, "WRITE(16)"},
    {0x8E, 16, ScsiClass::RefusedWrite, false, "WRITE AND VERIFY(16)"},
    {0x91, 16, ScsiClass::Passthrough, false, "SYNCHRONIZE CACHE(16)"},
    {0x93, 16, ScsiClass::RefusedWrite, false, "WRITE SAME(16)"},
    {0x9E, 16, ScsiClass::Passthrough, true, "SERVICE ACTION IN(16)"},
    {0xA0, 12, ScsiClass::Passthrough, true, "REPORT LUNS"},
    {0xA1, 12, ScsiClass::RefusedWrite, false, "ATA PASS-THROUGH(12)"},
    {0xA8, 12, ScsiClass::Read, true, "READ(12)"},
    {0xAA, 12, ScsiClass::Write, false, "WRITE(12)"},
    {0xAE, 12, ScsiClass::RefusedWrite, false, "WRITE AND VERIFY(12)"},
    {0xB5, 12, ScsiClass::RefusedWrite, false, "SECURITY PROTOCOL OUT"},
};

Entry const* find(u8 opcode) {
    for (Entry const& e : kTable)
        if (e.opcode == opcode) return &e;
    return nullptr;
}

constexpr u8 kReadCapacity16 = 0x10;  // SERVICE ACTION IN(16)'s service action

}  // namespace

char const* parse_cbw(u8 const* buf, u32 len, Cbw* out) {
    if (len != kCbwBytes) return "not 31 bytes";
    Cbw c;
    memcpy(&c, buf, sizeof c);
    if (c.signature != kCbwSignature) return "bad signature";
    if (c.cb_length < 1 || c.cb_length > 16) return "command block length out of range";
    if (c.lun & 0xF0) return "reserved LUN bits set";
    if (c.flags & 0x7F) return "reserved flag bits set";
    *out = c;
    return nullptr;
}

Csw make_csw(Cbw const& cbw, CswStatus status, u32 residue) {
    return Csw{kCswSignature, cbw.tag, residue, static_cast<u8>(status)};
}

ScsiCommand scsi_decode(u8 const* cdb, u32 len) {
    ScsiCommand c{len ? cdb[0] : u8{0xFF}, ScsiClass::Refused, false, Lba{0}, 0};
    Entry const* e = len ? find(cdb[0]) : nullptr;
    if (!e || len < e->length) return c;
    c.cls = e->cls;
    c.data_in = e->data_in;
    switch (e->opcode) {
    case 0x08:
    case 0x0A:
        c.lba = Lba{(u64{cdb[1]} & 0x1F) << 16 | be16(cdb + 2)};
        c.blocks = cdb[4] ? cdb[4] : 256;
        break;
    case 0x28:
    case 0x2A:
        c.lba = Lba{be32(cdb + 2)};
        c.blocks = be16(cdb + 7);
        break;
    case 0xA8:
    case 0xAA:
        c.lba = Lba{be32(cdb + 2)};
        c.blocks = be32(cdb + 6);
        break;
    case 0x88:
    case 0x8A:
        c.lba = Lba{be64(cdb + 2)};
        c.blocks = be32(cdb + 10);
        break;
    case 0x9E:  // only READ CAPACITY(16) among the service actions
        if ((cdb[1] & 0x1F) != kReadCapacity16) c.cls = ScsiClass::Refused;
        break;
    default:
        break;
    }
    return c;
}

char const* scsi_command_name(u8 opcode) {
    Entry const* e = find(opcode);
    return e ? e->name : "unknown";
}

char const* check_data_stage(Cbw const& cbw, ScsiCommand const& c, u32 block_size) {
    bool const in = (cbw.flags & 0x80) != 0;
    if (c.cls != ScsiClass::Read && c.cls != ScsiClass::Write) {
        if (c.cls != ScsiClass::Passthrough) return "refused command";
        return cbw.data_length == 0 || in == c.data_in ? nullptr : "data stage in the wrong direction";
    }
    if (in != c.data_in) return "data stage in the wrong direction";
    if (u64{c.blocks} * block_size != cbw.data_length) return "data length is not the blocks the command names";
    return nullptr;
}

namespace {
bool block_size_ok(u32 b) { return b == 512 || b == 4096; }
}  // namespace

bool parse_capacity10(u8 const* data, u32 len, Lba* last, u32* block_size) {
    if (len < 8) return false;
    *last = Lba{be32(data)};
    *block_size = be32(data + 4);
    return block_size_ok(*block_size);
}

bool parse_capacity16(u8 const* data, u32 len, Lba* last, u32* block_size) {
    if (len < 12) return false;
    *last = Lba{be64(data)};
    *block_size = be32(data + 8);
    return block_size_ok(*block_size);
}

ScsiSense refusal_sense(ScsiClass cls) {
    if (cls == ScsiClass::RefusedWrite) return ScsiSense{0x07, 0x27, 0x00};
    return ScsiSense{0x05, 0x20, 0x00};
}

}  // namespace tv::usb
