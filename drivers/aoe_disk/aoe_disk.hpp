// The emulated ATA disk whose sectors live on an AoE target: master of the primary IDE
// channel, no slave. The guest (its BIOS through INT 13h, Linux's ata_piix through the ports)
// sees an ordinary PATA disk; every register, including the bus-master block of channel 0,
// is emulated here and no real device is involved.
//
//  - Taskfile with HOB read-back, status/alternate status, device control (SRST: BSY, then
//    the ATA signature; nIEN), the absent slave reading 0 everywhere (as QEMU's IDE does) so
//    drivers find no device 1.
//  - IDENTIFY (aoe_disk_identify), SET FEATURES, SET MULTIPLE, READ/WRITE SECTORS (EXT),
//    READ/WRITE MULTIPLE (EXT), READ/WRITE DMA (EXT), FLUSH CACHE (EXT), EXECUTE DEVICE
//    DIAGNOSTIC, CHECK POWER MODE and the power/verify/recalibrate commands as no-ops.
//    Anything else, and CHS addressing, ends with ABORT and a log line.
//  - Each command completes synchronously inside the exit that starts it (PIO: the command
//    write, and the data access that needs the next chunk; DMA: the later of the command
//    write and the bus-master start): BlockDevice waits for the network with the guest
//    frozen. One interrupt per completed command or DRQ block, when nIEN is clear, through
//    AoeDiskEnv::raise_irq.
//  - DMA: the guest's PRD table is read once into monitor memory and checked (ide_shadow:
//    regions must be guest RAM, never the monitor's), then data moves between the listed
//    guest regions and a monitor buffer by memcpy. Rewriting the table after the start
//    changes nothing.
//  - A failed transfer (target silent past the deadline, or refusing) ends the command with
//    status DRDY|ERR and error ABRT; an ATA error the target reported is passed on as it came
//    (e.g. IDNF, UNC). Each is logged.
// Pure: host-tested with fake guest memory and a fake block device (tests/unit/
// test_aoe_disk_*.cpp).
#pragma once

#include "drivers/aoe_disk/aoe_disk_block.hpp"
#include "drivers/aoe_disk/aoe_disk_identify.hpp"
#include "drivers/ide/ide_channel.hpp"
#include "drivers/ide/ide_shadow.hpp"

namespace tv::ata {

// Guest memory and logging (IdeEnv; its port functions are never called) plus the interrupt.
class AoeDiskEnv : public IdeEnv {
  public:
    virtual void raise_irq() = 0;

  protected:
    ~AoeDiskEnv() = default;
};

struct AoeDiskCounters {
    u64 commands, aborted, failed, pio_sectors, dma_commands, dma_bytes, irqs;
};

namespace atareg {
inline constexpr u8 kBsy = 0x80, kDrdy = 0x40, kDf = 0x20, kDsc = 0x10, kDrq = 0x08, kErr = 0x01;
inline constexpr u8 kErrAbrt = 0x04, kErrIdnf = 0x10, kErrUnc = 0x40;
}  // namespace atareg

class AoeDisk {
  public:
    static constexpr u32 kChunkSectors = 256;  // one network wait moves at most this much

    void init(AoeDiskEnv* env, BlockDevice* dev, IdentifyParams const& id);
    // One guest access of size 1, 2 or 4 at `offset` of `block` (BusMaster: channel 0's 8
    // bytes). For a read, *value is what the guest gets.
    void access(IdeBlock block, u8 offset, bool in, u8 size, u32* value);

    AoeDiskCounters const& counters() const { return counters_; }
    u8 status() const { return status_; }

  private:
    enum class Phase : u8 { Idle, PioIn, PioOut, DmaHeld };
    struct Reg {  // a taskfile register and its previous value (HOB)
        u8 cur, prev;
    };

    bool slave() const { return (device_ & ide::kDevSlave) != 0; }
    u8 command_read(u8 offset);
    void command_write(u8 offset, u8 v);
    void control_write(u8 v);
    u8 bm_read(u8 offset) const;
    void bm_write(u8 offset, u8 v);
    void execute(u8 op);
    void reset_signature();
    void irq();
    void complete_ok();
    void fail(u8 op, u8 error, char const* why);
    void fail_io(u8 op, DiskResult const& r);

    [[nodiscard]] bool taskfile_lba(bool ext, Lba* lba, u32* count) const;
    void start_pio(u8 op, bool write, bool ext, u32 block);
    void start_dma(u8 op, bool write, bool ext);
    void run_dma();
    void set_lba_regs(Lba lba);

    u8 data_byte_in();
    void data_byte_out(u8 b);
    [[nodiscard]] bool pio_fetch();
    void pio_in_sector_done();
    void pio_out_sector_done();

    void copy_guest(u64 offset, u64 len, bool to_guest);

    AoeDiskEnv* env_{nullptr};
    BlockDevice* dev_{nullptr};
    IdentifyParams idp_{};

    Reg features_{}, count_{}, lbal_{}, lbam_{}, lbah_{};
    u8 device_{0};
    u8 control_{0};
    u8 status_{atareg::kDrdy | atareg::kDsc};
    u8 error_{1};
    Phase phase_{Phase::Idle};
    u32 logs_{0};

    // PIO: the current chunk of sectors in buf_, and where the guest is in it
    u8 pio_op_{0};
    Lba pio_lba_{0};       // first sector of buf_
    u32 pio_left_{0};      // sectors of the command not yet moved by the guest
    u32 pio_block_{1};     // sectors per DRQ block
    u32 pio_in_block_{0};  // sectors left in the current block
    u32 buf_sectors_{0};   // sectors held in buf_ (write: room planned in buf_)
    u32 buf_pos_{0};       // byte position of the guest in buf_

    // DMA
    u8 dma_op_{0};
    bool dma_write_{false};
    Lba dma_lba_{0};
    u32 dma_count_{0};
    u8 bm_cmd_{0};
    u8 bm_status_{0};
    u32 bm_prd_{0};
    PrdShadow shadow_{};

    AoeDiskCounters counters_{};
    alignas(16) u8 buf_[kChunkSectors * 512]{};
};

}  // namespace tv::ata
