// The e1000 (8254x) mediator: the guest drives its NIC with its own driver; the device only
// ever works on the monitor's rings and buffers, and the monitor shares the wire through
// FramePort.
//
// - Ring registers (RDBAL/H, RDLEN, RDH, RDT and the TX ones), RCTL/TCTL and RAR[15] are the
//   mediator's: the guest reads back what it wrote (RDH/TDH: how far the mediator has gone);
//   the device holds the monitor's rings, its RX/TX always enabled, RAR[15] the monitor's MAC.
//   The 82542 aliases of the ring registers are refused. Everything else passes through.
// - TX: on a TDT write (and at every sync) each new guest descriptor is read ONCE into the
//   shadow ring, then checked there: its buffer must lie in guest RAM outside the monitor, or
//   the device reads zeros from a monitor page instead (counted, logged). Rewriting a
//   descriptor after that changes nothing. The device's TDT only ever points after an EOP,
//   and the monitor's frames go in there, between the guest's packets.
// - RX: the device fills monitor buffers; each frame is classified by destination (the
//   monitor's MAC: the monitor's alone; broadcast/multicast: both; the rest: the guest's) and
//   the guest's are copied into the buffers of the guest's own descriptors (each read once,
//   checked, then written back with the device's status). A full guest ring drops the
//   guest's frame, never the monitor's.
// - Sync points: the guest's ICR read (read first, so nothing the device signalled is missed),
//   RDH/TDH reads, RDT/TDT writes, and FramePort::poll(). Outside an ICR read, frames copied
//   to the guest are signalled with ICS.RXT0. The monitor never reads ICR itself.
// - The guest's CTRL.RST resets the device; the mediator re-establishes its rings, RAR and
//   RCTL/TCTL at once, and the guest sees the reset device's values.
//
// Pure: the device and guest memory are reached through NicEnv (host-tested with a fake).
#pragma once

#include "core/types.hpp"
#include "drivers/nic/e1000_regs.hpp"
#include "drivers/nic/frame_port.hpp"

namespace tv::nic {

// Monitor memory the device may reach: the CPU's pointer and the address the device uses.
struct DmaMem {
    u8* virt;
    u64 dev;
};

class NicEnv {
  public:
    virtual u32 dev_read(u32 off) = 0;  // a BAR0 register of the real device
    virtual void dev_write(u32 off, u32 value) = 0;
    // Guest RAM a device may be pointed at (never the monitor's region or device memory);
    // false, with nothing copied, for any other byte in the range.
    [[nodiscard]] virtual bool guest_ok(u64 gpa, u64 len) = 0;
    [[nodiscard]] virtual bool guest_read(u64 gpa, void* dst, u64 len) = 0;
    [[nodiscard]] virtual bool guest_write(u64 gpa, void const* src, u64 len) = 0;
    virtual void refused(char const* why, u64 detail) = 0;  // rate-limited by the caller
    virtual void guest_reset() = 0;                         // after the guest reset the device

  protected:
    ~NicEnv() = default;
};

enum class Refusal : u8 {
    TxBuffer,    // a TX buffer outside guest RAM: sent from a zero page
    TxDescType,  // an extended TX descriptor of an unknown type: sent as zeros
    TxLongPacket,
    TxOpenPacket,  // a packet left without its EOP while the monitor waited: ended there
    TxRing,      // TDBAL/TDLEN unusable: the guest's TX is held
    RxRing,
    RxBuffer,    // a guest RX buffer outside guest RAM: written back as an errored empty frame
    BadIndex,    // RDH/RDT/TDH/TDT beyond the ring
    Alias,       // an 82542 alias of a ring register
    Count,
};
char const* refusal_name(Refusal r);

struct NicCounters {
    u64 tx_guest_packets, tx_guest_descs, tx_monitor_frames, tx_monitor_full;
    u64 rx_guest_frames, rx_monitor_frames, rx_shared_frames;
    u64 rx_guest_ring_full, rx_guest_disabled, rx_multi_desc, rx_own_looped;
    u64 resets;
    u64 refused[static_cast<u32>(Refusal::Count)];
};

class E1000Mediator final : public FramePort {
  public:
    static constexpr u32 kTxSlots = 256, kRxSlots = 256, kRxBufBytes = 2048;
    static constexpr u32 kMonTxBufs = 64, kMonTxBufBytes = 2048;
    static constexpr u32 kZeroBytes = 16384;     // what a refused TX buffer becomes
    static constexpr u32 kMaxPacketDescs = 64;   // longer guest packets are cut (refused)
    static constexpr u32 kMaxOpenSyncs = 4;      // syncs the monitor waits for an open packet's EOP
    static constexpr u64 kTxRingOff = 0, kRxRingOff = 4096, kRxBufOff = 8192;
    static constexpr u64 kMonTxOff = kRxBufOff + u64{kRxSlots} * kRxBufBytes;
    static constexpr u64 kZeroOff = kMonTxOff + u64{kMonTxBufs} * kMonTxBufBytes;
    static constexpr u64 kDmaBytes = kZeroOff + kZeroBytes;
    static constexpr u32 kLogPerReason = 4;

    // mem: kDmaBytes of zeroed monitor memory. Resets the device and takes it over.
    void init(NicEnv* env, DmaMem mem, MacAddr mac);

    // The guest's BAR0 accesses. owns(): whether the dword at `off` is the mediator's
    // (otherwise the access goes to the device unchanged).
    static bool owns(u32 off);
    [[nodiscard]] u64 read_sized(u32 off, u8 size);
    void write_sized(u32 off, u8 size, u64 value);

    // FramePort
    [[nodiscard]] Status send(u8 const* frame, size_t len) override;
    void poll() override;
    MacAddr mac() const override { return mac_; }
    u32 mtu() const override { return 1500; }
    bool link_up() const override;

    NicCounters const& counters() const { return c_; }

  private:
    struct TxSlot {
        u64 gdesc;  // the guest descriptor it came from (0: the monitor's frame)
        u32 gnext;  // the guest's TDH once this one is done
        u16 mon_buf;
        u8 guest_rs;
        u8 used;
    };

    u32 read32(u32 off);
    void write32(u32 off, u32 value);
    u32 peek32(u32 off) const;  // the value a read returns, without a read's side effects
    void takeover();
    void sync(bool at_icr_read);
    void tx_reap();
    void tx_fill();
    void tx_copy_one(u64 gdesc_gpa, u32 gnext);
    void tx_flush_monitor();
    void tx_close_open_packet();
    void tx_commit();
    void rx_sync(bool at_icr_read);
    void rx_frame(u8 const* buf, u32 len, e1000::RxDesc const& hw);
    bool rx_to_guest(u8 const* buf, u32 len, e1000::RxDesc const& hw);
    [[nodiscard]] bool ring_ok(u32 lo, u32 hi, u32 len, Refusal why);
    void refuse(Refusal r, u64 detail);
    void write_real_rctl();

    NicEnv* env_{nullptr};
    DmaMem mem_{nullptr, 0};
    MacAddr mac_{};
    e1000::TxDesc* txr_{nullptr};
    e1000::RxDesc* rxr_{nullptr};
    TxSlot txs_[kTxSlots]{};
    u32 tx_head_{0}, tx_tail_{0}, tx_commit_{0};  // shadow: next to complete, next free, device TDT
    u32 tx_packet_descs_{0}, tx_open_syncs_{0};
    bool tx_in_packet_{false};
    u32 rx_next_{0};
    bool rx_discarding_{false};  // inside a frame spread over several monitor buffers
    bool in_sync_{false};
    // The guest's view.
    u32 g_rdbal_{0}, g_rdbah_{0}, g_rdlen_{0}, g_rdh_{0}, g_rdt_{0};
    u32 g_tdbal_{0}, g_tdbah_{0}, g_tdlen_{0}, g_tdh_{0}, g_tdt_{0}, g_tdnext_{0};
    u32 g_rctl_{0}, g_tctl_{0}, g_ral15_{0}, g_rah15_{0};
    // The monitor's frames: buffer states and the FIFO of those waiting for a packet boundary.
    u8 mon_state_[kMonTxBufs]{};  // 0 free, 1 waiting, 2 in the ring
    u16 mon_len_[kMonTxBufs]{};
    u16 mon_fifo_[kMonTxBufs]{};
    u32 mon_fifo_head_{0}, mon_fifo_count_{0};
    NicCounters c_{};
};

}  // namespace tv::nic
