// libFuzzer target: the ATAPI allow-list (drivers/ata/ata_command_atapi) against any command
// block and either policy. Checks: nothing out of bounds (ASan/UBSan); a command in the write
// class never passes while cd_write is deny; what passes with deny passes with allow and is
// the same command; a refusal's sense is DATA PROTECT for writes and ILLEGAL REQUEST
// otherwise, with its key in the error register and in well-formed sense data.
#include "drivers/ata/ata_command_atapi.hpp"
#include "tests/unit/fuzz_input.hpp"

using namespace tv;
using namespace tv::ata;

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    Input in{data, size};
    u8 cdb[kCdbBytes];
    for (u8& b : cdb) b = in.take<u8>();
    AtapiCommand deny{}, allow{};
    AtapiVerdict const vd = atapi_decode(cdb, false, &deny);
    AtapiVerdict const va = atapi_decode(cdb, true, &allow);
    check(deny.opcode == cdb[0] && allow.opcode == cdb[0], "the opcode is the block's first byte");
    check(!(vd == AtapiVerdict::Allowed && deny.writes), "no write passes with cd_write = deny");
    check(vd != AtapiVerdict::Allowed || va == AtapiVerdict::Allowed, "allow passes what deny passes");
    check(va != AtapiVerdict::RefusedWrite, "with allow, nothing is refused as a write");
    check((vd == AtapiVerdict::RefusedWrite) == (va == AtapiVerdict::Allowed && allow.writes), "one write class");
    check(deny.dir == allow.dir, "the direction does not depend on the policy");
    check(atapi_command_name(cdb[0]) != nullptr, "every opcode has a name");
    if (vd != AtapiVerdict::Allowed) {
        Sense const s = atapi_refusal_sense(vd);
        check(s.key == (vd == AtapiVerdict::RefusedWrite ? scsi::kSenseDataProtect : scsi::kSenseIllegalRequest),
              "the refusal's sense key");
        check(atapi_error_register(s) >> 4 == s.key && (atapi_error_register(s) & st::kErrAbrt), "error register");
        u8 d[kSenseBytes];
        atapi_sense_data(s, d);
        check(d[0] == 0x70 && d[2] == s.key && d[12] == s.asc && d[7] == kSenseBytes - 8, "fixed-format sense");
    }
    return 0;
}
