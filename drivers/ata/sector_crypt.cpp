#include "drivers/ata/sector_crypt.hpp"

#include <string.h>

namespace tv::ata {

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

}  // namespace tv::ata
