// The slice of the ATA command set an AoE initiator uses: command codes, status bits and the
// IDENTIFY DEVICE words that give the disk's size and names.
#pragma once

#include "core/types.hpp"

namespace tv::aoe {

enum class AtaCmd : u8 {
    ReadSectors = 0x20,  // 28-bit LBA
    ReadSectorsExt = 0x24,
    WriteSectors = 0x30,
    WriteSectorsExt = 0x34,
    IdentifyDevice = 0xEC,
};

inline constexpr u8 kAtaStatusBusy = 0x80;
inline constexpr u8 kAtaStatusReady = 0x40;
inline constexpr u8 kAtaStatusFault = 0x20;
inline constexpr u8 kAtaStatusError = 0x01;

inline constexpr u64 kLba28Limit = 1ull << 28;  // first sector a 28-bit command cannot reach
inline constexpr u64 kLba48Limit = 1ull << 48;

// True when the status byte a target returned says the command did not complete.
constexpr bool ata_failed(u8 status) {
    return (status & (kAtaStatusBusy | kAtaStatusFault | kAtaStatusError)) != 0;
}

struct IdentifyInfo {
    u64 sectors;  // addressable 512-byte sectors
    bool lba48;   // 48-bit commands supported
    char model[41];
    char serial[21];
    char firmware[9];
};

// Reads the 512-byte IDENTIFY DEVICE block. Invalid when it reports no addressable sectors.
[[nodiscard]] Status parse_identify(u8 const* block, IdentifyInfo* out);

}  // namespace tv::aoe
