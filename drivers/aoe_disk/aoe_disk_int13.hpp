// BIOS disk services (INT 13h) for the AoE disk, which SeaBIOS never saw (it finished POST
// before the monitor ran). The real-mode stub hooks INT 13h for this one drive and hands each
// call here through a hypercall; everything else goes to the firmware's handler.
//
// Functions: 00 reset, 01 status, 02/03 CHS read/write, 04 verify, 08 parameters,
// 0C/0D/10/11 (seek, reset, ready, recalibrate), 15 type, 41 extensions check (EDD 3.0,
// fixed-disk subset), 42/43 extended read/write (DAP of 16 bytes, or 24 with a flat 64-bit
// buffer address when the segment:offset is FFFF:FFFF), 44 verify, 47 seek, 48 parameters.
// Anything else: AH=01, carry set. The CHS view is 255 heads x 63 sectors, capped at 1024
// cylinders (the usual translation, consistent between 02/03 and 08).
//
// Data goes through a monitor buffer: the guest's buffer must be guest RAM (never the
// monitor's), else AH=01. Errors: AH=80h (timeout), 04h (sector not found), 20h (target
// failure), 01h (bad request), with carry set.
#pragma once

#include "core/handlers/bios_disk_regs.hpp"
#include "drivers/aoe_disk/aoe_disk_block.hpp"
#include "drivers/ide/ide_shadow.hpp"

namespace tv::ata {

class Int13Disk {
  public:
    static constexpr u32 kMaxSectors = 127;  // per call, as EDD allows for real-mode buffers

    void init(IdeEnv* mem, BlockDevice* dev, u8 drive, u8 drive_count);
    void call(BiosDiskRegs& r);

    u64 calls() const { return calls_; }

  private:
    void finish(BiosDiskRegs& r, u8 status);
    [[nodiscard]] u8 transfer(bool write, Lba lba, u32 count, Gpa addr);
    void chs_rw(BiosDiskRegs& r, bool write);
    void ext_rw(BiosDiskRegs& r, bool write);
    void params(BiosDiskRegs& r);
    void ext_params(BiosDiskRegs& r);

    IdeEnv* mem_{nullptr};
    BlockDevice* dev_{nullptr};
    u8 drive_{0x80};
    u8 drive_count_{1};
    u8 last_{0};
    u64 calls_{0};
    u32 logs_{0};
    alignas(16) u8 buf_[kMaxSectors * 512]{};
};

}  // namespace tv::ata
