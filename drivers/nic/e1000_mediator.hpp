// The e1000 (8254x) mediator: the guest drives its NIC with its own driver; the device only
// ever works on the monitor's rings and buffers. Its two sides, the device's rings
// (E1000DeviceRings, e1000_device_rings.cpp) and the guest's (E1000GuestRings,
// e1000_guest_rings.cpp), meet in the frame switch (switch/), whose forwarding policy decides
// where each frame goes; the switch is the monitor's FramePort.
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
#include "drivers/nic/tx_tso.hpp"
#include "drivers/nic/frame_port.hpp"
#include "switch/frame_switch.hpp"
#include "switch/mac_policy.hpp"

namespace tv::nic {

// Monitor memory the device may reach: the CPU's pointer and the address the device uses.
struct DmaMem {
    u8* virt;
    Hpa dev;  // where the device reaches it: monitor memory, host-physical
};

class NicEnv {
  public:
    virtual u32 dev_read(u32 off) = 0;  // a BAR0 register of the real device
    virtual void dev_write(u32 off, u32 value) = 0;
    // Guest RAM a device may be pointed at (never the monitor's region or device memory);
    // false, with nothing copied, for any other byte in the range.
    [[nodiscard]] virtual bool guest_ok(Gpa gpa, u64 len) = 0;
    [[nodiscard]] virtual bool guest_read(Gpa gpa, void* dst, u64 len) = 0;
    [[nodiscard]] virtual bool guest_write(Gpa gpa, void const* src, u64 len) = 0;
    virtual void refused(char const* why, u64 detail) = 0;  // rate-limited by the caller
    virtual void guest_reset() = 0;                         // after the guest reset the device
    // Serializes the mediator's entry points: the guest's register accesses (any CPU) and the
    // monitor's poll()/send() (the network stack's tick, the AoE disk inside an IDE exit) all
    // change the same rings. Must allow the same CPU in again: a receiver called from a sync
    // inside a register access may send a reply. No-ops for single-threaded hosts.
    virtual void lock() {}
    virtual void unlock() {}

  protected:
    ~NicEnv() = default;
};

class NicEnvLock {
  public:
    explicit NicEnvLock(NicEnv* env) : env_(env) {
        if (env_) env_->lock();
    }
    ~NicEnvLock() {
        if (env_) env_->unlock();
    }
    NicEnvLock(NicEnvLock const&) = delete;
    NicEnvLock& operator=(NicEnvLock const&) = delete;

  private:
    NicEnv* env_;
};

enum class Refusal : u8 {
    TxBuffer,    // a TX buffer outside guest RAM: sent from a zero page
    TxDescType,  // an extended TX descriptor of an unknown type: sent as zeros
    TxLongPacket,
    TxOpenPacket,  // a packet left without its EOP while the monitor waited: ended there
    TxRing,      // TDBAL/TDLEN unusable: the guest's TX is held
    TxCopy,      // copy-out: a guest packet larger than a frame or its buffer unreadable: dropped
    TxTso,       // copy-out: a TSO packet its context does not describe (tx_tso.hpp): dropped
    RxRing,
    RxBuffer,    // a guest RX buffer outside guest RAM: written back as an errored empty frame
    BadIndex,    // RDH/RDT/TDH/TDT beyond the ring
    Alias,       // an 82542 alias of a ring register
    Count,
};
char const* refusal_name(Refusal r);

struct NicCounters {
    u64 tx_guest_packets, tx_guest_descs, tx_monitor_frames, tx_monitor_full;
    u64 rx_guest_frames;  // where the others went: the switch's counters
    u64 rx_guest_ring_full, rx_guest_disabled, rx_guest_filtered, rx_multi_desc;
    u64 tx_guest_copied;  // guest frames copied out for the switch (copy-out, or the monitor's copy)
    u64 tx_tso_packets, tx_tso_segments;  // guest TSO packets the monitor cut, and the frames made
    // Zero-copy: guest packets the device segments (TSE) or checksums (legacy IC, POPTS) itself.
    u64 tx_offload_tso, tx_offload_csum;
    u64 resets;
    u64 refused[static_cast<u32>(Refusal::Count)];
};

// Layout of the monitor memory the device works on (DmaMem).
struct E1000Layout {
    static constexpr u32 kTxSlots = 256, kRxSlots = 256, kRxBufBytes = 2048;
    static constexpr u32 kMonTxBufs = 64, kMonTxBufBytes = 2048;
    static constexpr u32 kZeroBytes = 16384;  // what a refused TX buffer becomes
    static constexpr u64 kTxRingOff = 0, kRxRingOff = 4096, kRxBufOff = 8192;
    static constexpr u64 kMonTxOff = kRxBufOff + u64{kRxSlots} * kRxBufBytes;
    static constexpr u64 kZeroOff = kMonTxOff + u64{kMonTxBufs} * kMonTxBufBytes;
    static constexpr u64 kDmaBytes = kZeroOff + kZeroBytes;
};

// What a device TX slot came from: a guest descriptor (completed back to the guest), or one
// of the monitor's buffers.
struct TxSlot {
    Gpa gdesc;  // the guest descriptor it came from (Gpa{0}: a monitor buffer)
    u32 gnext;  // the guest's TDH once this one is done
    u16 mon_buf;
    u8 guest_rs;
    u8 used;
};

// The device side: the rings the device works on, all in monitor memory. Guest descriptors
// enter only as checked copies (zero-copy: the device then reads the guest's buffer), frames
// of the monitor and of the switch as copies in its own buffers, and those only between the
// guest's packets. Received frames are read from the monitor's buffers.
class E1000DeviceRings : public E1000Layout {
  public:
    void init(NicEnv* env, DmaMem mem, NicCounters* c);
    // After a device reset: the rings emptied (the monitor's frames still in them queued
    // again), the device pointed at them.
    void takeover(MacAddr mac, u32 tctl);
    // Guest descriptors, already checked: room, and one more.
    [[nodiscard]] bool full() const;
    void push_guest(e1000::TxDesc const& d, Gpa gdesc, u32 gnext, bool rs, bool ends_packet, bool context);
    [[nodiscard]] bool in_packet() const { return in_packet_; }
    [[nodiscard]] u32 waiting_frames() const { return mon_fifo_count_; }
    [[nodiscard]] u32 packet_descs() const { return packet_descs_; }
    // Ends a guest packet left open where it stands (the monitor must not wait for ever).
    void close_open_packet();
    // A frame in a monitor buffer, sent at the next packet boundary.
    [[nodiscard]] Status queue_frame(u8 const* frame, size_t len);
    // Completed slots: guest ones are handed to `done` (with ctx), monitor buffers freed.
    using GuestDone = void (*)(void* ctx, TxSlot const& s);
    void reap(GuestDone done, void* ctx);
    void flush_frames();  // the waiting frames into the ring, where no guest packet is open
    void commit();        // the device's TDT, to the last packet boundary
    // Received frames, one call each (complete frames in one buffer; others dropped).
    using RxFrame = void (*)(void* ctx, u8 const* buf, u32 len, e1000::RxDesc const& hw);
    void receive(RxFrame fn, void* ctx);
    [[nodiscard]] Hpa dev_addr(u64 off) const { return Hpa{mem_.dev.raw + off}; }

  private:
    NicEnv* env_{nullptr};
    DmaMem mem_{nullptr, Hpa{0}};
    NicCounters* c_{nullptr};
    e1000::TxDesc* txr_{nullptr};
    e1000::RxDesc* rxr_{nullptr};
    TxSlot txs_[kTxSlots]{};
    u32 tx_head_{0}, tx_tail_{0}, tx_commit_{0};  // next to complete, next free, device TDT
    u32 packet_descs_{0};
    bool in_packet_{false};
    u32 rx_next_{0};
    bool rx_discarding_{false};  // inside a frame spread over several monitor buffers
    // The monitor's frames: buffer states and the FIFO of those waiting for a packet boundary.
    u8 mon_state_[kMonTxBufs]{};  // 0 free, 1 waiting, 2 in the ring
    u16 mon_len_[kMonTxBufs]{};
    u16 mon_fifo_[kMonTxBufs]{};
    u32 mon_fifo_head_{0}, mon_fifo_count_{0};
};

// What a frame from the wire carries to the guest side: the device's descriptor, and how
// many FCS bytes follow the frame in the buffer (the guest asked the device to keep them).
struct WireMeta {
    e1000::RxDesc hw;
    u32 fcs;
};

// The guest side: the guest's view of the ring registers, its TX descriptors read once and
// checked, its completions, and frames written into its RX ring as the device would.
class E1000GuestRings {
  public:
    static constexpr u32 kMaxPacketDescs = 64;  // longer guest packets are cut (refused)
    static constexpr u32 kMaxOpenSyncs = 4;     // syncs the monitor waits for an open packet's EOP
    static constexpr u32 kCopyBytes = 1514;      // a copied guest frame: one standard frame
    static constexpr u32 kTsoBytes = 255 + kTsoMaxPayload;  // a copied TSO packet: HDRLEN + 64 KiB

    void init(NicEnv* env, NicCounters* c, E1000DeviceRings* dev, sw::FrameSwitch* sw, Hpa zero_dev);
    void reset();  // the reset device's view (registers read by the caller)
    // New guest descriptors into the device's ring (zero-copy) or through the switch (copy-out).
    void fetch_tx();
    void tx_done(TxSlot const& s);
    // sw::GuestSide: one frame into the guest's RX ring. meta: the device's RxDesc or nullptr.
    bool receive(sw::Frame f, void const* meta);

    u32 rdbal{0}, rdbah{0}, rdlen{0}, rdh{0}, rdt{0};
    u32 tdbal{0}, tdbah{0}, tdlen{0}, tdh{0}, tdt{0}, tdnext{0};
    u32 rctl{0}, tctl{0}, ral15{0}, rah15{0};
    u32 open_syncs{0};
    // The device dropped the monitor's RAR[15] (Bochs 2.7 keeps only RAR[0-3]): it runs
    // unicast-promiscuous, and the guest's own unicast filter is applied here instead.
    bool soft_unicast_filter{false};

  private:
    [[nodiscard]] bool unicast_wanted(MacAddr dst);
    [[nodiscard]] bool ring_ok(u32 lo, u32 hi, u32 len, Refusal why);
    void refuse(Refusal r, u64 detail);
    [[nodiscard]] Gpa ring_base(u32 lo, u32 hi) const { return Gpa{u64{hi} << 32 | lo}; }
    void copy_one(Gpa gdesc, u32 gnext);
    void check_tso_context(e1000::TxDesc& d);
    void gather(e1000::TxDesc const& d, u32 len, bool ext, bool eop);
    void copy_out_one(Gpa gdesc, u32 gnext);
    void segment();
    static void to_switch(void* ctx, u8 const* frame, u32 len);

    NicEnv* env_{nullptr};
    NicCounters* c_{nullptr};
    E1000DeviceRings* dev_{nullptr};
    sw::FrameSwitch* sw_{nullptr};
    Hpa zero_dev_{0};  // the monitor's zero page, where a refused guest buffer points the device
    // A guest packet being copied for the switch (copy-out, or a copy for the monitor): one
    // frame, or a whole TSO packet the monitor cuts into frames (seg_) at its end.
    u8 copy_[kTsoBytes]{};
    u8 seg_[kCopyBytes]{};
    u32 copy_len_{0};
    bool copying_{false}, copy_bad_{false}, at_packet_start_{true};
    bool pkt_tso_{false}, pkt_csum_{false};  // zero-copy: this packet asks the device to segment / checksum
    bool tso_refused_{false};  // zero-copy: the last context asked for a TSO tx_tso_context_check refused
    bool tso_{false}, tso_overflow_{false};  // a data descriptor of this packet had TSE; it outgrew copy_
    e1000::TxDesc ctx_{};  // the last context descriptor: checksum offsets for copies
    bool legacy_ic_{false};  // a legacy descriptor of this packet asked for a checksum
    u8 legacy_css_{0}, legacy_cso_{0}, popts_{0};
    u32 copy_descs_{0};   // copy-out: descriptors of the packet so far
    u32 completed_{0};    // copy-out: descriptors completed without the device (TXDW owed)
    u8 rx_scratch_[kCopyBytes + 4 + 4]{};  // a monitor-made frame with room for the FCS the guest expects
    friend class E1000Mediator;
};

class E1000Mediator final : public E1000Layout, sw::WireSide, sw::GuestSide {
  public:
    static constexpr u32 kMaxPacketDescs = E1000GuestRings::kMaxPacketDescs;
    static constexpr u32 kMaxOpenSyncs = E1000GuestRings::kMaxOpenSyncs;
    static constexpr u32 kLogPerReason = 4;

    // mem: kDmaBytes of zeroed monitor memory. Resets the device and takes it over. The
    // switch starts with the default policy (sw::MacPolicy).
    void init(NicEnv* env, DmaMem mem, MacAddr mac);

    // The guest's BAR0 accesses. owns(): whether the dword at `off` is the mediator's
    // (otherwise the access goes to the device unchanged).
    static bool owns(u32 off);
    [[nodiscard]] u64 read_sized(u32 off, u8 size);
    void write_sized(u32 off, u8 size, u64 value);

    // The monitor's port, and where a policy is plugged in (under the NIC's lock).
    sw::FrameSwitch& port() { return sw_; }
    sw::FrameSwitch const& port() const { return sw_; }
    void set_policy(sw::ForwardingPolicy* p);
    sw::MacPolicy& default_policy() { return policy_; }
    // The environment whose lock serializes the mediator: a policy's own timers (the VPN's)
    // take it too (NicEnvLock), so they never run beside a guest access to the rings.
    NicEnv* env() { return env_; }

    NicCounters const& counters() const { return c_; }
    // The device could not hold the monitor's MAC in RAR[15]: unicast-promiscuous instead.
    [[nodiscard]] bool unicast_promiscuous() const { return g_.soft_unicast_filter; }

    // sw::WireSide
    [[nodiscard]] Status transmit(sw::Frame f) override;
    void poll() override;
    bool link_up() const override;
    u32 mtu() const override { return 1500; }
    // sw::GuestSide
    bool receive(sw::Frame f, void const* meta) override;

  private:
    u32 read32(u32 off);
    void write32(u32 off, u32 value);
    u32 peek32(u32 off) const;  // the value a read returns, without a read's side effects
    void takeover();
    void sync(bool at_icr_read);
    void refuse(Refusal r, u64 detail);
    void write_real_rctl();
    static void on_rx(void* ctx, u8 const* buf, u32 len, e1000::RxDesc const& hw);
    static void on_tx_done(void* ctx, TxSlot const& s);

    NicEnv* env_{nullptr};
    MacAddr mac_{};
    E1000DeviceRings dev_{};
    E1000GuestRings g_{};
    sw::FrameSwitch sw_{};
    sw::MacPolicy policy_{};
    bool in_sync_{false};
    NicCounters c_{};
};

}  // namespace tv::nic
