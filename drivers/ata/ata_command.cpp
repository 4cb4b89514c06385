#include "drivers/ata/ata_command.hpp"

namespace tv::ata {

namespace {

// How a command on the allow-list moves data. Media commands count logical sectors; the
// others count 512-byte blocks.
enum class Kind : u8 {
    Refused,
    NonData,
    PioIn1,     // one 512-byte block to the host (IDENTIFY, SMART READ DATA)
    PioInLog,   // `count` 512-byte log pages to the host: device data, never media
    PioIn,      // media read by PIO
    PioOut,     // media write by PIO
    DmaIn,
    DmaOut,
    FpdmaIn,
    FpdmaOut,
};

struct Entry {
    u8 command;
    Kind kind;
    bool lba48;
    char const* name;
};

constexpr Entry kTable[] = {
    {cmd::kNop, Kind::NonData, false, "NOP"},
    {cmd::kDeviceReset, Kind::NonData, false, "DEVICE RESET"},
    {cmd::kReadSectors, Kind::PioIn, false, "READ SECTORS"},
    {cmd::kReadSectorsExt, Kind::PioIn, true, "READ SECTORS EXT"},
    {cmd::kReadDmaExt, Kind::DmaIn, true, "READ DMA EXT"},
    {cmd::kReadNativeMaxExt, Kind::NonData, true, "READ NATIVE MAX ADDRESS EXT"},
    {cmd::kReadMultipleExt, Kind::PioIn, true, "READ MULTIPLE EXT"},
    // Linux's error handling reads the NCQ Command Error log (10h) after a failed queued
    // command, here one the monitor refused; without it EH resets the link. Logs hold device
    // state, not sectors: nothing to decrypt, nothing of another disk's. Only the PIO form:
    // Linux falls back to it when READ LOG DMA EXT fails (drivers/ata/libata-core.c), and
    // IDE's DMA path counts in media sectors.
    {cmd::kReadLogExt, Kind::PioInLog, true, "READ LOG EXT"},
    {cmd::kWriteSectors, Kind::PioOut, false, "WRITE SECTORS"},
    {cmd::kWriteSectorsExt, Kind::PioOut, true, "WRITE SECTORS EXT"},
    {cmd::kWriteDmaExt, Kind::DmaOut, true, "WRITE DMA EXT"},
    {cmd::kWriteMultipleExt, Kind::PioOut, true, "WRITE MULTIPLE EXT"},
    {cmd::kReadVerify, Kind::NonData, false, "READ VERIFY SECTORS"},
    {cmd::kReadVerifyExt, Kind::NonData, true, "READ VERIFY SECTORS EXT"},
    {cmd::kReadFpdma, Kind::FpdmaIn, true, "READ FPDMA QUEUED"},
    {cmd::kWriteFpdma, Kind::FpdmaOut, true, "WRITE FPDMA QUEUED"},
    {cmd::kExecDiagnostic, Kind::NonData, false, "EXECUTE DEVICE DIAGNOSTIC"},
    {cmd::kInitDevParams, Kind::NonData, false, "INITIALIZE DEVICE PARAMETERS"},
    {cmd::kIdentifyPacket, Kind::PioIn1, false, "IDENTIFY PACKET DEVICE"},
    {cmd::kSmart, Kind::NonData, false, "SMART"},  // subcommand decides, see decode_smart
    {cmd::kReadMultiple, Kind::PioIn, false, "READ MULTIPLE"},
    {cmd::kWriteMultiple, Kind::PioOut, false, "WRITE MULTIPLE"},
    {cmd::kSetMultiple, Kind::NonData, false, "SET MULTIPLE MODE"},
    {cmd::kReadDma, Kind::DmaIn, false, "READ DMA"},
    {cmd::kWriteDma, Kind::DmaOut, false, "WRITE DMA"},
    {cmd::kStandbyImmediate, Kind::NonData, false, "STANDBY IMMEDIATE"},
    {cmd::kIdleImmediate, Kind::NonData, false, "IDLE IMMEDIATE"},
    {cmd::kStandby, Kind::NonData, false, "STANDBY"},
    {cmd::kIdle, Kind::NonData, false, "IDLE"},
    {cmd::kCheckPower, Kind::NonData, false, "CHECK POWER MODE"},
    {cmd::kFlushCache, Kind::NonData, false, "FLUSH CACHE"},
    {cmd::kFlushCacheExt, Kind::NonData, true, "FLUSH CACHE EXT"},
    {cmd::kIdentify, Kind::PioIn1, false, "IDENTIFY DEVICE"},
    {cmd::kSetFeatures, Kind::NonData, false, "SET FEATURES"},  // subcommand decides
    {cmd::kReadNativeMax, Kind::NonData, false, "READ NATIVE MAX ADDRESS"},
    // Known, never allowed: each would let the guest go around the encryption or destroy
    // the disk behind the monitor's back.
    {cmd::kDataSetManagement, Kind::Refused, true, "DATA SET MANAGEMENT"},
    {cmd::kWriteUncorrectableExt, Kind::Refused, true, "WRITE UNCORRECTABLE EXT"},
    {cmd::kReadLogDmaExt, Kind::Refused, true, "READ LOG DMA EXT"},  // harmless, but see READ LOG EXT
    {cmd::kDownloadMicrocode, Kind::Refused, false, "DOWNLOAD MICROCODE"},
    {cmd::kSecuritySetPassword, Kind::Refused, false, "SECURITY SET PASSWORD"},
    {cmd::kSecurityUnlock, Kind::Refused, false, "SECURITY UNLOCK"},
    {cmd::kSecurityErasePrepare, Kind::Refused, false, "SECURITY ERASE PREPARE"},
    {cmd::kSecurityEraseUnit, Kind::Refused, false, "SECURITY ERASE UNIT"},
    {cmd::kSecurityFreezeLock, Kind::Refused, false, "SECURITY FREEZE LOCK"},
    {cmd::kSecurityDisablePassword, Kind::Refused, false, "SECURITY DISABLE PASSWORD"},
    {cmd::kSetMax, Kind::Refused, false, "SET MAX"},
    {cmd::kSetMaxAddressExt, Kind::Refused, true, "SET MAX ADDRESS EXT"},
    {cmd::kPacket, Kind::Refused, false, "PACKET"},
};

Entry const* find(u8 command) {
    for (Entry const& e : kTable)
        if (e.command == command) return &e;
    // RECALIBRATE is 0x10 with the obsolete aliases 0x11-0x1F.
    static constexpr Entry kRecalibrate{0x10, Kind::NonData, false, "RECALIBRATE"};
    if ((command & 0xF0) == 0x10) return &kRecalibrate;
    return nullptr;
}

// SMART: only the two read-only subcommands (features 7:0). Their data is drive health, not
// media, and passes unencrypted.
constexpr u8 kSmartReadData = 0xD0;
constexpr u8 kSmartReturnStatus = 0xDA;
// SET FEATURES: only "set transfer mode" (features 7:0 = 0x03; the mode is in count 7:0).
constexpr u8 kSetFeaturesXferMode = 0x03;

void set_kind(Kind k, AtaCommand* out) {
    out->dir = Dir::None;
    out->proto = Proto::NonData;
    out->media = false;
    switch (k) {
    case Kind::PioIn1: out->dir = Dir::Read; out->proto = Proto::Pio; out->count = 1; break;
    case Kind::PioInLog: out->dir = Dir::Read; out->proto = Proto::Pio; break;
    case Kind::PioIn: out->dir = Dir::Read; out->proto = Proto::Pio; out->media = true; break;
    case Kind::PioOut: out->dir = Dir::Write; out->proto = Proto::Pio; out->media = true; break;
    case Kind::DmaIn: out->dir = Dir::Read; out->proto = Proto::Dma; out->media = true; break;
    case Kind::DmaOut: out->dir = Dir::Write; out->proto = Proto::Dma; out->media = true; break;
    case Kind::FpdmaIn: out->dir = Dir::Read; out->proto = Proto::Fpdma; out->media = true; break;
    case Kind::FpdmaOut: out->dir = Dir::Write; out->proto = Proto::Fpdma; out->media = true; break;
    case Kind::NonData:
    case Kind::Refused: break;
    }
}

}  // namespace

bool ata_decode(u8 command, u16 features, u16 count, u64 lba, bool ext_regs, AtaCommand* out) {
    Entry const* e = find(command);
    if (!e || e->kind == Kind::Refused) return false;
    AtaCommand c{};
    c.command = command;
    c.lba48 = e->lba48;
    if (c.lba48) {
        if (!ext_regs) {  // the previous bytes were not captured: they are zero
            features &= 0xFF;
            count &= 0xFF;
            lba &= 0xFFFFFF;
        }
        c.features = features;
        c.lba = Lba{lba & 0xFFFF'FFFF'FFFFull};
        bool const fpdma = e->kind == Kind::FpdmaIn || e->kind == Kind::FpdmaOut;
        u32 const n = fpdma ? features : count;
        c.count = n ? n : 0x10000u;
    } else {
        c.features = static_cast<u16>(features & 0xFF);
        c.lba = Lba{lba & 0x0FFF'FFFFull};
        c.count = (count & 0xFF) ? (count & 0xFFu) : 256u;
    }
    set_kind(e->kind, &c);
    if (command == cmd::kSmart) {
        u8 const sub = static_cast<u8>(c.features);
        if (sub == kSmartReadData) set_kind(Kind::PioIn1, &c);
        else if (sub != kSmartReturnStatus) return false;
    }
    if (command == cmd::kSetFeatures && (c.features & 0xFF) != kSetFeaturesXferMode) return false;
    // Non-data commands carry no transfer length; a count there is a parameter (SET MULTIPLE,
    // SET FEATURES mode, READ VERIFY length), kept as decoded.
    *out = c;
    return true;
}

char const* ata_command_name(u8 command) {
    Entry const* e = find(command);
    return e ? e->name : "unknown";
}

}  // namespace tv::ata
