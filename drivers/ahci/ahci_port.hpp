// The AHCI mediator of one port: the guest programs what it believes is the port, the device
// works on shadow structures in monitor memory.
//
// - PxCLB/PxFB: the guest's values are remembered and read back; the device always holds the
//   monitor's own command list and received-FIS area.
// - PxCI (and PxSACT for NCQ): each newly issued slot's command header, command FIS, ATAPI
//   command and PRDT are copied into monitor memory FIRST; everything after that (decoding, the
//   allow-list, PRDT checks, the data) uses the copies only, so a guest rewriting its structures
//   after the write changes nothing.
// - Data: a media command the storage pipeline says needs no transformation (a plain disk) is
//   zero-copy: the device gets the copied, validated PRDT, so it moves data only to and from
//   guest RAM outside the monitor. Every other transfer goes through a bounce buffer of the
//   monitor (encrypted for media commands of an encrypted disk), copied from the guest's
//   buffers before issue and into them at completion, along the copied PRDT.
// - A refused command is replaced by NOP (00h, subcommand 0), which every ATA device aborts:
//   the guest sees a genuine device error (PxIS.TFES, PxTFD with ERR and ABRT in the D2H FIS),
//   with the interrupt the device raises, exactly as for a command the disk rejected itself.
// - Completion is noticed whenever the guest looks: every read of a port register (and of the
//   HBA's IS) first checks which of our issued slots the device has finished (PxCI, PxSACT),
//   finishes them (decrypt, copy out, PRDBC into the guest's header) and copies the received
//   FISes to the guest's area. A guest therefore never sees a slot done before its data is.
// - Quiet: while every command in flight needs nothing at completion (NCQ, zero-copy or a
//   bounced write, no slot waiting), quiet() is true and the monitor lets the guest read the
//   registers from the device without an exit (ahci_install.cpp); writes still exit, and
//   every write first finishes what the device finished (docs/ahci.md, "Quiet reads").
//
// Pure: hardware and guest memory are reached through AhciEnv, so it runs in host tests.
#pragma once

#include "core/types.hpp"
#include "drivers/ahci/ahci_regs.hpp"
#include "drivers/ata/ata_command.hpp"
#include "drivers/ata/sector_crypt.hpp"

namespace tv::ata::ahci {

// Monitor memory the device may reach: the CPU's pointer and the address the device uses.
struct DmaMem {
    u8* virt;
    Hpa dev;
};

// What the port needs from the machine. The monitor's version: ahci_install.cpp; the tests'
// fake: tests/unit/test_ahci_fake.hpp.
class AhciEnv {
  public:
    virtual u32 dev_read(u32 abar_off) = 0;  // a register of the real HBA
    virtual void dev_write(u32 abar_off, u32 value) = 0;
    // Guest RAM, false (nothing copied) when any byte of the range is not guest memory the
    // guest may hand to a device: monitor memory, beyond RAM, an address that wraps.
    [[nodiscard]] virtual bool guest_ok(Gpa gpa, u64 len) = 0;
    [[nodiscard]] virtual bool guest_read(Gpa gpa, void* dst, u64 len) = 0;
    [[nodiscard]] virtual bool guest_write(Gpa gpa, void const* src, u64 len) = 0;
    virtual void refused(u32 port, u32 slot, u8 command, char const* why) = 0;
    virtual void note(u32 port, char const* what) = 0;  // rare events worth a log line
    // The guest's register reads must reach the mediator (exit) from now on, on every CPU,
    // before this returns: called before the device gets a command that is not quiet.
    virtual void trap_reads() = 0;

  protected:
    ~AhciEnv() = default;
};

// Bounce pages shared by the ports of a controller: contiguous runs, first fit.
class BouncePool {
  public:
    static constexpr u32 kMaxPages = 4096;
    void init(DmaMem mem, u32 pages);
    [[nodiscard]] bool alloc(u32 pages, u32* first);
    void release(u32 first, u32 pages);
    u8* virt(u32 page) const { return mem_.virt + u64{page} * kPageSize; }
    Hpa dev(u32 page) const { return Hpa{mem_.dev.raw + u64{page} * kPageSize}; }
    u32 pages() const { return pages_; }
    u32 used() const { return used_count_; }

  private:
    bool is_used(u32 p) const { return (used_[p / 64] >> (p % 64)) & 1; }
    void set(u32 first, u32 n, bool v);

    DmaMem mem_{};
    u32 pages_{0};
    u32 used_count_{0};
    u64 used_[kMaxPages / 64]{};
};

inline constexpr u32 kMaxGuestPrds = 256;  // Linux uses at most 168, SeaBIOS 1
// The device's PRDT: a bounce run cut into 4 MiB pieces, or the guest's own (zero-copy).
inline constexpr u32 kShadowPrds = kMaxGuestPrds;
inline constexpr u32 kTableBytes = sizeof(CommandTableHead) + kShadowPrds * sizeof(PrdEntry);
// Device-visible monitor memory of one port: command list, received FISes, 32 command tables.
inline constexpr u64 kPortDmaBytes = kCommandListBytes + sizeof(ReceivedFis) + kSlots * kTableBytes;
// The monitor's private copies of the guest's PRDTs.
inline constexpr u64 kPortPrdBytes = u64{kSlots} * kMaxGuestPrds * sizeof(PrdEntry);

enum class SlotState : u8 { Free, Deferred, Issued };

struct Slot {
    SlotState state;
    bool ncq;
    bool data_in;     // device to memory
    bool crypt;       // media on an encrypted disk: XTS on the bounce buffer
    bool identify;    // IDENTIFY DEVICE: the port attaches its key from the data
    bool irq;         // some guest PRD asked for an interrupt
    bool direct;      // zero-copy: the device uses the copied guest PRDT, no bounce buffer
    bool quiet;       // needs nothing at completion before the guest may see it
    u8 command;
    u16 flags;        // the guest's header flags (CFL, W, P, C, PMP)
    u16 guest_prds;
    u32 bytes;        // data moved through the bounce buffer (0: none)
    u32 sectors;
    Lba lba;
    u32 bounce_first, bounce_pages;
};

struct PortCounters {
    u64 issued, refused, deferred, completed, bytes_in, bytes_out;
};

class AhciPort {
  public:
    // dma: kPortDmaBytes, 1 KiB aligned; prds: kPortPrdBytes of monitor memory.
    void init(AhciEnv* env, BouncePool* pool, u32 index, DmaMem dma, PrdEntry* prds);
    bool ready() const { return env_ != nullptr; }

    [[nodiscard]] u32 read(u32 reg);    // the guest reads port register reg (32-bit)
    void write(u32 reg, u32 value);     // the guest writes it
    void poll();                        // finish what the device finished
    void abandon_all();                 // the device dropped every command (stop, reset)
    // ahci_takeover.cpp, at install, before the guest runs: a port the firmware started keeps
    // running but on our structures, and its disk is identified by the monitor itself (the
    // firmware's IDENTIFY came before the monitor, and its INT 13h will not repeat it).
    [[nodiscard]] bool take_over();
    [[nodiscard]] bool identify_now();
    bool busy() const { return active_ != 0; }
    // Every command in flight is quiet and none waits in the monitor: the guest may read the
    // port's registers from the device (docs/ahci.md, "Quiet reads").
    [[nodiscard]] bool quiet() const;

    SectorCrypt& crypt() { return crypt_; }
    PortCounters const& counters() const { return counters_; }
    Slot const& slot(u32 s) const { return slots_[s]; }
    Hpa shadow_clb() const { return dma_.dev; }
    Hpa shadow_fb() const { return Hpa{dma_.dev.raw + kCommandListBytes}; }

  private:
    u32 off(u32 reg) const { return port_reg(index_, reg); }
    CommandHeader* shadow_header(u32 s) { return reinterpret_cast<CommandHeader*>(dma_.virt) + s; }
    ReceivedFis* shadow_fis() { return reinterpret_cast<ReceivedFis*>(dma_.virt + kCommandListBytes); }
    u8* table_virt(u32 s) { return dma_.virt + kCommandListBytes + sizeof(ReceivedFis) + s * kTableBytes; }
    Hpa table_dev(u32 s) const {
        return Hpa{dma_.dev.raw + kCommandListBytes + sizeof(ReceivedFis) + s * kTableBytes};
    }
    PrdEntry* guest_prds(u32 s) { return prds_ + s * kMaxGuestPrds; }

    void program_device_bases();
    [[nodiscard]] bool wait_cmd_clear(u32 bit);
    [[nodiscard]] bool identify_polled();
    void attach_from_identify(u8 const* data);
    void issue(u32 bits);
    // ahci_issue.cpp: copy, check, prepare one slot; why = nullptr when accepted.
    [[nodiscard]] char const* shadow_slot(u32 s);
    [[nodiscard]] char const* check_command(u32 s, AtaCommand const& c);
    [[nodiscard]] char const* check_prdt(u32 s, u64* total);
    void substitute_nop(u32 s);
    [[nodiscard]] bool start(u32 s, u32* ci_bits);
    void build_shadow_prdt(u32 s);
    // ahci_protect.cpp: file protection, the write judged against the sectors read first.
    [[nodiscard]] bool protect_write(u32 s);
    [[nodiscard]] bool read_current(u32 s, u32* first);
    void gather(u32 s);
    void scatter(u32 s, u32 bytes);
    void complete(u32 s);
    void release(u32 s);
    void copy_fis_to_guest();
    void start_deferred();

    AhciEnv* env_{nullptr};
    BouncePool* pool_{nullptr};
    u32 index_{0};
    DmaMem dma_{};
    PrdEntry* prds_{nullptr};
    Gpa guest_clb_{0}, guest_fb_{0};  // as the guest wrote them: checked at each use
    u32 active_{0};     // slots not Free
    u32 deferred_{0};   // copied and checked, waiting for bounce pages
    u32 sact_armed_{0}; // PxSACT bits the guest set for slots it has not issued yet
    bool fis_dirty_{false};
    SectorCrypt crypt_{};
    Slot slots_[kSlots]{};
    PortCounters counters_{};
};

// The H2D register FIS of a command, decoded. control: a control FIS (C bit clear, e.g. the
// SRST of a soft reset), which carries no command. False: not a register FIS, or a command
// the allow-list refuses (*out then names it in out->command).
[[nodiscard]] bool decode_h2d(u8 const* cfis, AtaCommand* out, bool* control);

}  // namespace tv::ata::ahci
