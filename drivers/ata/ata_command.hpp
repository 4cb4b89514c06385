// ATA commands as the mediators see them: the taskfile the guest wrote, decoded against an
// allow-list. Shared by the IDE (drivers/ide/ide_*) and AHCI (drivers/ahci/ahci_*) mediators.
//
// The allow-list is the security boundary for commands: anything a guest could use to bypass
// the encryption (TRIM, SECURITY ERASE, SET MAX, DOWNLOAD MICROCODE, vendor commands...) is
// not on it, and a command not on it is refused by the mediator with ABORT and logged.
// docs/ata.md lists the commands and the reasons.
//
// Pure (no hardware, no globals): host-tested in tests/unit/test_ata_command.cpp.
#pragma once

#include "core/types.hpp"

namespace tv::ata {

enum class Dir : u8 { None, Read, Write };  // Read: device to memory
enum class Proto : u8 { NonData, Pio, Dma, Fpdma };

struct AtaCommand {
    u8 command;
    u16 features;
    Lba lba;     // 28- or 48-bit, as the command uses it
    u32 count;   // media: logical sectors (0 in the register already expanded to 256 or 65536);
                 // other data commands: 512-byte blocks (IDENTIFY, SMART READ DATA: 1)
    bool lba48;  // an EXT or FPDMA command
    Dir dir;
    Proto proto;
    bool media;  // true for READ/WRITE of sectors: the data is encrypted/decrypted
};

// Decodes a taskfile into a command. False = not on the allow-list: the caller refuses it with
// ABORT and logs it (ata_command_name names it).
//   features, count: the 16-bit register values (previous byte in 15:8). For FPDMA QUEUED the
//                    sector count is in features and count bits 7:3 hold the tag.
//   lba:             the LBA registers (previous bytes in 47:24); for 28-bit commands the
//                    caller puts device-register bits 3:0 in 27:24.
//   ext_regs:        the caller captured the previous ("HOB") register bytes, as an H2D FIS
//                    or a tracked IDE taskfile does. Without them the high bytes are taken as
//                    zero for 48-bit commands.
// 28-bit commands use count 7:0 (0 means 256), LBA 27:0 and features 7:0 only.
[[nodiscard]] bool ata_decode(u8 command, u16 features, u16 count, u64 lba, bool ext_regs, AtaCommand* out);

// "READ DMA EXT", ... or "unknown" for a command the decoder does not know at all.
char const* ata_command_name(u8 command);

// The opcodes the mediators refer to by name.
namespace cmd {
inline constexpr u8 kNop = 0x00;
inline constexpr u8 kDeviceReset = 0x08;
inline constexpr u8 kReadSectors = 0x20;
inline constexpr u8 kReadSectorsExt = 0x24;
inline constexpr u8 kReadDmaExt = 0x25;
inline constexpr u8 kReadNativeMaxExt = 0x27;
inline constexpr u8 kReadMultipleExt = 0x29;
inline constexpr u8 kReadLogExt = 0x2F;
inline constexpr u8 kWriteSectors = 0x30;
inline constexpr u8 kWriteSectorsExt = 0x34;
inline constexpr u8 kWriteDmaExt = 0x35;
inline constexpr u8 kWriteMultipleExt = 0x39;
inline constexpr u8 kReadVerify = 0x40;
inline constexpr u8 kReadVerifyExt = 0x42;
inline constexpr u8 kReadFpdma = 0x60;
inline constexpr u8 kWriteFpdma = 0x61;
inline constexpr u8 kExecDiagnostic = 0x90;
inline constexpr u8 kInitDevParams = 0x91;
inline constexpr u8 kPacket = 0xA0;
inline constexpr u8 kIdentifyPacket = 0xA1;
inline constexpr u8 kSmart = 0xB0;
inline constexpr u8 kReadMultiple = 0xC4;
inline constexpr u8 kWriteMultiple = 0xC5;
inline constexpr u8 kSetMultiple = 0xC6;
inline constexpr u8 kReadDma = 0xC8;
inline constexpr u8 kWriteDma = 0xCA;
inline constexpr u8 kStandbyImmediate = 0xE0;
inline constexpr u8 kIdleImmediate = 0xE1;
inline constexpr u8 kStandby = 0xE2;
inline constexpr u8 kIdle = 0xE3;
inline constexpr u8 kCheckPower = 0xE5;
inline constexpr u8 kFlushCache = 0xE7;
inline constexpr u8 kFlushCacheExt = 0xEA;
inline constexpr u8 kIdentify = 0xEC;
inline constexpr u8 kSetFeatures = 0xEF;
inline constexpr u8 kReadNativeMax = 0xF8;
// Refused; named so that logs and tests can say which.
inline constexpr u8 kDataSetManagement = 0x06;
inline constexpr u8 kWriteUncorrectableExt = 0x45;
inline constexpr u8 kReadLogDmaExt = 0x47;
inline constexpr u8 kDownloadMicrocode = 0x92;
inline constexpr u8 kSecuritySetPassword = 0xF1;
inline constexpr u8 kSecurityUnlock = 0xF2;
inline constexpr u8 kSecurityErasePrepare = 0xF3;
inline constexpr u8 kSecurityEraseUnit = 0xF4;
inline constexpr u8 kSecurityFreezeLock = 0xF5;
inline constexpr u8 kSecurityDisablePassword = 0xF6;
inline constexpr u8 kSetMax = 0xF9;
inline constexpr u8 kSetMaxAddressExt = 0x37;
}  // namespace cmd

// The ATA status and error register bits the mediators synthesize.
namespace st {
inline constexpr u8 kErr = 0x01;
inline constexpr u8 kDrq = 0x08;
inline constexpr u8 kDf = 0x20;
inline constexpr u8 kDrdy = 0x40;
inline constexpr u8 kBsy = 0x80;
inline constexpr u8 kErrAbrt = 0x04;  // error register: command aborted
}  // namespace st

}  // namespace tv::ata
