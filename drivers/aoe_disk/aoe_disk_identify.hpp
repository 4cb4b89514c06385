// The IDENTIFY DEVICE block of the emulated AoE disk: a fixed, LBA48-capable ATA disk with
// PIO 0-4, multiword DMA 0-2 and UDMA 0-5 (the host driver picks; ata_piix on QEMU's PIIX3
// takes MWDMA2), READ/WRITE MULTIPLE up to kMaxMultiple sectors, FLUSH CACHE (EXT), the
// remote size in words 60-61 and 100-103, and model/serial naming the AoE target. Word 255
// carries the integrity signature and checksum Linux verifies.
#pragma once

#include "core/types.hpp"

namespace tv::ata {

inline constexpr u16 kMaxMultiple = 16;

struct IdentifyParams {
    u64 sectors;
    u16 shelf;
    u8 slot;
    u8 mac_tail[3];      // the target's MAC, last three bytes: makes the serial unique
    u8 xfer_mode;        // SET FEATURES 03h value in force (0: none set)
    u16 multiple;        // SET MULTIPLE value in force (0: off)
};

// CHS geometry for BIOS and IDENTIFY words 1/3/6: 16 heads, 63 sectors, cylinders capped.
struct Chs {
    u16 cylinders, heads, sectors;
};
Chs legacy_geometry(u64 sectors);

void build_identify(IdentifyParams const& p, u16 (&id)[256]);

}  // namespace tv::ata
