// One IDE channel (two devices) as the mediator sees it: every guest access to its command
// block, its control register and its bus-master registers comes here, and the channel
// performs it on the device itself.
//
//  - Commands are decoded when the guest writes the command register (drivers/ata/
//    ata_command), from the taskfile read back from the device; a command off the allow-list,
//    a media command on a disk without a key (SectorCrypt Deny), CHS addressing and FPDMA are
//    refused: the device gets CHECK POWER MODE instead (harmless, and it raises the
//    completion interrupt when nIEN is clear), and until the next command the guest reads
//    status DRDY|ERR and error ABRT. An allowed command is issued with the taskfile that was
//    checked written to the device again first (issue()), so a write by another CPU in between
//    cannot move it (with several CPUs those ports exit too: ide_install).
//  - PIO: the data port is buffered a sector at a time; reads fetch a whole sector of
//    ciphertext from the device and hand the guest plaintext, writes collect a sector of
//    plaintext and send it encrypted.
//  - Bus-master DMA: a DMA command is held until the guest also sets the start bit; then the
//    PRD table is shadowed and validated (ide_shadow), the device gets the monitor's own PRD
//    table, the command (from the taskfile as decoded, not as it reads now) and the start
//    bit. Completion is noticed at the guest's first look (BM status with the interrupt bit,
//    or ATA status/alternate status no longer busy, or the stop): a read is decrypted from
//    the bounce buffer into the guest's buffers listed in the shadow.
//  - ATAPI (ide_atapi.cpp): PACKET goes to the device, its 12-byte command block is
//    collected from the data port into the monitor, decoded against the ATAPI allow-list
//    (drivers/ata/ata_command_atapi) and only then written to the device; a refused block is
//    replaced by TEST UNIT READY and the guest sees CHECK CONDITION with the refusal's sense
//    (error register, then the next REQUEST SENSE's data). Packet DMA is shadowed like disk
//    DMA, without a bounce buffer (optical media pass through unencrypted).
//  - The bus-master ports exit only while the monitor has a DMA command in hand (from the
//    command register write until the device is seen idle after it) or owes the guest a
//    start bit; otherwise the guest reaches the engine directly (one CPU only; with several
//    the ports stay intercepted). See docs/ata.md, "Bus-master ports".
// Pure apart from IdeEnv: host-tested with a fake device (tests/unit/test_ide_*.cpp).
#pragma once

#include "drivers/ata/ata_command.hpp"
#include "drivers/ata/ata_command_atapi.hpp"
#include "drivers/ide/ide_shadow.hpp"
#include "drivers/ata/sector_crypt.hpp"

namespace tv::ata {

namespace ide {
// Command block offsets.
inline constexpr u8 kData = 0, kError = 1, kFeatures = 1, kCount = 2, kLbaLow = 3, kLbaMid = 4, kLbaHigh = 5;
inline constexpr u8 kDevice = 6, kStatus = 7, kCommand = 7;
// Bus-master block offsets (per channel) and bits.
inline constexpr u8 kBmCommand = 0, kBmStatus = 2, kBmPrd = 4;
inline constexpr u8 kBmStart = 0x01, kBmToMemory = 0x08;
inline constexpr u8 kBmActive = 0x01, kBmError = 0x02, kBmIntr = 0x04, kBmDriveCapable = 0x60;
// Device control and device register bits.
inline constexpr u8 kCtlNien = 0x02, kCtlSrst = 0x04, kCtlHob = 0x80;
inline constexpr u8 kDevLba = 0x40, kDevSlave = 0x10;
}  // namespace ide

struct IdePorts {
    u16 cmd;   // command block (8 ports)
    u16 ctrl;  // alternate status / device control
    u16 bm;    // bus-master block (8 ports); 0 = none
};

enum class IdeBlock : u8 { Command, Control, BusMaster };

struct IdeCounters {
    u64 commands, refused, pio_sectors, dma_commands, dma_bytes;
};

class IdeChannel {
  public:
    // `name` (kept, not copied) names the channel by its place in the log, as the BIOS and the
    // guest see it: "ide-00:01.1-primary", its devices ".0" (master) and ".1" (slave).
    void init(IdeEnv* env, char const* name, IdePorts ports, DmaMemory const& dma);
    // One guest access of size 1, 2 or 4 at `offset` in `block`. For a read, *value is what
    // the guest gets.
    void access(IdeBlock block, u8 offset, bool in, u8 size, u32* value);
    // Before the guest runs: IDENTIFY each device by polling, so that its key policy is known
    // before the first command. A device that does not answer in time is attached later, at
    // the guest's own IDENTIFY.
    void probe();

    SectorCrypt& crypt(u8 dev) { return dev_[dev & 1].crypt; }
    // [ide] cd_write = allow: packet devices may be sent the write class (docs/ata.md, "ATAPI").
    void set_cd_write(bool allow) { cd_write_ = allow; }
    IdeCounters const& counters() const { return counters_; }
    IdePorts const& ports() const { return ports_; }
    char const* name() const { return name_; }
    bool dma_in_flight() const { return phase_ == Phase::DmaRun; }
    // Whether guest accesses to the bus-master ports exit right now.
    bool bm_intercepted() const { return bm_trapped_; }

  private:
    enum class Phase : u8 { Idle, PioIn, PioOut, DmaHeld, DmaRun, PacketCdb };
    struct Taskfile {
        u8 cur[6], prev[6];  // indices kFeatures..kLbaHigh; features as written, the rest read back
        u8 device;
    };
    struct Device {
        SectorCrypt crypt;
        bool atapi;
    };

    u8 in8(u16 port) { return static_cast<u8>(env_->port_in(port, 1)); }
    void out8(u16 port, u8 v) { env_->port_out(port, 1, v); }
    u8 selected() const { return (tf_.device & ide::kDevSlave) ? 1 : 0; }

    void command_access(u8 offset, bool in, u8 size, u32* value);
    void bm_access(u8 offset, bool in, u8 size, u32* value);
    u8 status_read(bool alt);
    void control_write(u8 v);
    void read_taskfile();
    void command_write(u8 op);
    void refuse(u8 op, char const* why);
    void refusal_log(u8 dev, char const* what, u8 code, char const* why);
    void reset_state();

    // ATAPI (ide_atapi.cpp)
    void packet_command(u8 dev);
    void packet_cdb_write(u8 size, u32 value);
    void packet_cdb_done();
    void packet_refuse(AtapiCommand const& c, AtapiVerdict v);
    void packet_abandon(char const* why);
    void packet_dma_go();
    u32 sense_overlay(u8 size, u32 value);

    void data_access(bool in, u8 size, u32* value);
    [[nodiscard]] bool pio_fill();
    void pio_sector_done();
    void pio_flush();
    void attach_identify(u8 dev, u16 const (&id)[256]);

    void bm_command_write(u8 v);
    [[nodiscard]] bool bm_take();
    void bm_release_if_idle();
    void device_seen(u8 ata_status);
    void dma_go();
    void bm_start(bool disk_command);
    void dma_finish(bool stopped);
    void load_taskfile(Taskfile const& t);
    void issue(u8 op, Taskfile const& checked);

    // File protection (ide_protect.cpp)
    [[nodiscard]] bool read_current(u8 dev, Lba lba);
    [[nodiscard]] bool protect_write(u8 dev, Lba lba, u32 count, u8* data);

    IdeEnv* env_{nullptr};
    char const* name_{"ide"};
    IdePorts ports_{};
    DmaMemory dma_{};
    Device dev_[2]{};
    Taskfile tf_{};
    u8 control_{0};  // device control as the guest last wrote it (HOB clear)
    Phase phase_{Phase::Idle};
    bool aborted_{false};  // the last command was refused: status/error read as ABORT
    u8 abort_error_{st::kErrAbrt};  // the error register of a refused command (ATAPI: sense key too)

    // PIO
    u8 pio_dev_{0};
    bool pio_media_{false};
    bool pio_identify_{false};
    bool pio_sealed_{false};  // an encrypted PIO write: no other data word reaches the device in clear
    Lba pio_lba_{0};
    u32 pio_left_{0};
    u32 pio_bytes_{512};  // bytes per DRQ sector of this command
    u32 buf_pos_{0}, buf_len_{0};
    alignas(16) u8 buf_[4096]{};
    alignas(16) u8 cur_[4096]{};  // a sector's current content, for the file-protection check

    // DMA
    AtaCommand dma_cmd_{};
    Taskfile dma_tf_{};
    u8 dma_dev_{0};
    bool dma_bounce_{false};
    bool start_requested_{false};  // the guest set start before issuing the command
    u8 bm_cmd_{0};                 // the bus-master command register as the guest wrote it
    u32 guest_prd_{0};             // the PRD table pointer as the guest wrote it
    PrdShadow shadow_{};
    // Bus-master port interception. Trapped at first: the backends start with every claimed
    // port intercepted. Fixed once the monitor said it cannot switch them (several vCPUs).
    bool bm_trapped_{true};
    bool bm_fixed_{false};
    // The device was given a DMA command and has not shown "neither BSY nor DRQ" since: its
    // engine may still move data, so the guest must not reach the engine yet.
    bool dma_on_device_{false};

    // ATAPI
    bool cd_write_{false};
    bool packet_{false};      // the command in hand is a PACKET
    bool packet_dma_{false};  // ... with the DMA bit in features
    u8 packet_dev_{0};
    Dir packet_dir_{Dir::None};
    u8 cdb_[kCdbBytes]{};     // the monitor's copy of the command block: the one decoded and sent
    u32 cdb_len_{0};
    // A refusal's sense, owed to the device's next command if that is REQUEST SENSE (SPC:
    // sense data lasts until the next command); sense_patch_: that REQUEST SENSE is running.
    bool sense_pending_[2]{};
    Sense sense_[2]{};
    bool sense_patch_{false};
    u8 sense_data_[kSenseBytes]{};
    u32 sense_pos_{0};

    IdeCounters counters_{};
};

}  // namespace tv::ata
