#include "drivers/aoe_disk/aoe_disk_identify.hpp"

#include <stdio.h>
#include <string.h>

namespace tv::ata {

namespace {

// ATA strings: two characters a word, the first in the high byte, space padded.
void put_string(u16* words, size_t nwords, char const* s) {
    size_t const n = strlen(s);
    for (size_t i = 0; i < nwords * 2; ++i) {
        u8 const c = static_cast<u8>(i < n ? s[i] : ' ');
        size_t const w = i / 2;
        words[w] = (i & 1) ? static_cast<u16>((words[w] & 0xFF00) | c) : static_cast<u16>((words[w] & 0x00FF) | (c << 8));
    }
}

}  // namespace

Chs legacy_geometry(u64 sectors) {
    u64 const per_cyl = 16 * 63;
    u64 cyl = sectors / per_cyl;
    if (cyl > 16383) cyl = 16383;
    if (cyl == 0) cyl = 1;
    return Chs{static_cast<u16>(cyl), 16, 63};
}

void build_identify(IdentifyParams const& p, u16 (&id)[256]) {
    memset(id, 0, sizeof id);
    Chs const g = legacy_geometry(p.sectors);
    u64 const lba28 = p.sectors < 0x0FFFFFFF ? p.sectors : 0x0FFFFFFF;
    u64 const chs_cap = static_cast<u64>(g.cylinders) * g.heads * g.sectors;

    id[0] = 0x0040;  // fixed device
    id[1] = g.cylinders;
    id[3] = g.heads;
    id[6] = g.sectors;
    char serial[24];
    snprintf(serial, sizeof serial, "AOE%02X%02X%02X-E%u.%u", p.mac_tail[0], p.mac_tail[1], p.mac_tail[2], p.shelf,
             p.slot);
    put_string(&id[10], 10, serial);
    put_string(&id[23], 4, "tv-aoe1");
    char model[48];
    snprintf(model, sizeof model, "AoE e%u.%u thinvisor", p.shelf, p.slot);  // SCSI shows 16 chars
    put_string(&id[27], 20, model);
    id[47] = static_cast<u16>(0x8000 | kMaxMultiple);
    id[49] = 0x0F00;  // DMA, LBA, IORDY
    id[50] = 0x4000;
    id[51] = 0x0200;  // PIO timing mode 2 (obsolete word; words 64-68 say more)
    id[53] = 0x0007;  // words 54-58, 64-70 and 88 are valid
    id[54] = g.cylinders;
    id[55] = g.heads;
    id[56] = g.sectors;
    id[57] = static_cast<u16>(chs_cap);
    id[58] = static_cast<u16>(chs_cap >> 16);
    if (p.multiple) id[59] = static_cast<u16>(0x0100 | p.multiple);
    id[60] = static_cast<u16>(lba28);
    id[61] = static_cast<u16>(lba28 >> 16);
    u8 const mode = p.xfer_mode;
    id[63] = 0x0007;  // MWDMA 0-2 supported
    if ((mode & 0xF8) == 0x20 && (mode & 7) <= 2) id[63] = static_cast<u16>(id[63] | (0x100u << (mode & 7)));
    id[64] = 0x0003;  // PIO 3 and 4
    id[65] = 120;
    id[66] = 120;
    id[67] = 120;
    id[68] = 120;
    id[80] = 0x00F0;  // ATA/ATAPI-4 to -7
    id[82] = 0x4000;  // NOP
    id[83] = 0x7400;  // FLUSH CACHE EXT, FLUSH CACHE, LBA48
    id[84] = 0x4000;
    id[85] = 0x4000;
    id[86] = 0x3400;  // the same, enabled
    id[87] = 0x4000;
    id[88] = 0x003F;  // UDMA 0-5 supported
    if ((mode & 0xF8) == 0x40 && (mode & 7) <= 5) id[88] = static_cast<u16>(id[88] | (0x100u << (mode & 7)));
    id[93] = 0x6001;  // device 0 passed diagnostics, 80-conductor cable (for UDMA > 2)
    for (int i = 0; i < 4; ++i) id[100 + i] = static_cast<u16>(p.sectors >> (16 * i));
    // Integrity word: signature A5h, and a checksum that makes the 512 bytes sum to zero.
    id[255] = 0x00A5;
    u8 sum = 0;
    auto const* bytes = reinterpret_cast<u8 const*>(id);
    for (size_t i = 0; i < 511; ++i) sum = static_cast<u8>(sum + bytes[i]);
    id[255] = static_cast<u16>(0x00A5 | (static_cast<u8>(-sum) << 8));
}

}  // namespace tv::ata
