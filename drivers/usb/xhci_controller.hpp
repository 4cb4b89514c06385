// The xHCI mediator of one controller: the guest drives what it believes is the controller,
// the controller works on monitor copies (docs/usb.md).
//
// - Command ring (CRCR) and transfer rings (the dequeue pointers in input contexts and Set TR
//   Dequeue Pointer): the guest's pointers are remembered, the controller holds ShadowRings.
//   At a doorbell the guest's new TRBs are copied once (ring_walk), checked (check_*_trb)
//   and written to the shadow ring, and only then is the real doorbell rung: a TRB rewritten
//   after the doorbell changes nothing the device does. A refused TRB is logged and replaced
//   by a No Op that asks for an event, and that event reaches the guest as a TRB Error.
// - Input contexts: copied into monitor memory per slot, checked, their dequeue pointers
//   replaced by shadow rings; the command then points at the copy.
// - DCBAA and output device contexts: the controller's are the monitor's (one per slot, and
//   the scratchpad array in entry 0); after each event of a slot the output context is copied
//   to the guest's (found through the guest's DCBAA then), dequeue pointers put back into the
//   guest's rings.
// - Event ring: the controller writes the monitor's one-segment ring; every event is
//   translated (TRB pointers back to the guest's TRBs) and pushed into the guest's ring
//   (GuestEventRing), whenever the guest looks: a read of USBSTS or IMAN, a write of ERDP.
// - Capabilities: one interrupter, at most kMaxSlots slots, ERST Max 3 (8 segments), no streams.
//
// Pure: the controller and guest memory are reached through XhciEnv, so it runs in host tests.
#pragma once

#include "drivers/usb/xhci_check.hpp"
#include "drivers/usb/xhci_context.hpp"
#include "drivers/usb/xhci_event.hpp"
#include "drivers/usb/xhci_regs.hpp"
#include "drivers/usb/xhci_shadow_ring.hpp"
#include "drivers/usb/usb_slot.hpp"

namespace tv::usb {

class XhciEnv : public UsbStorageEnv {
  public:
    virtual u64 dev_read(u32 off, u8 size) = 0;  // a register of the real controller (BAR0 offset)
    virtual void dev_write(u32 off, u8 size, u64 value) = 0;
    virtual GuestView const& guest() = 0;
    virtual void delay_us(u32 us) = 0;
    // refused, note and usb_rule: UsbStorageEnv

  protected:
    ~XhciEnv() = default;
};

inline constexpr u32 kMaxSlots = 16;
inline constexpr u32 kRingPool = 64;  // transfer rings shadowed at once, over all slots
// A walk copies at most what the shadow ring can take (the rest waits for room).
inline constexpr u32 kMaxTrbsPerDoorbell = ShadowRing::kUsable - 1;
inline constexpr u32 kEventTrbs = kPageSize / kTrbBytes;  // the monitor's event ring segment
inline constexpr u32 kRingPages = ShadowRing::kMaxPages;  // per transfer ring

// The monitor memory a controller needs, in pages, laid out by XhciController::init.
// output context (2 KiB), input context copy (33 x 64), descriptor bounce, BOT page (usb_slot)
inline constexpr u32 kSlotPages = 4;
// Media bounces for encrypted sticks (XhciController::set_bounce): one per stick in use.
inline constexpr u32 kBounceRegions = 2;
// Where a refused transfer TRB's buffer is pointed instead (at most 64 KiB): the TD keeps its
// shape for the device, whose data lands in or comes from this monitor page run. It only ever
// holds what devices wrote there.
inline constexpr u32 kSinkPages = kMaxTrbBuffer / kPageSize;
inline constexpr u32 kDmaPages = 3 + kMaxSlots * kSlotPages + kRingPool * kRingPages + kSinkPages;

struct XhciCounters {
    u64 doorbells, command_doorbells, trbs, commands, refused, events, events_dropped;
};

class XhciController {
  public:
    // dma: kDmaPages of monitor memory the device may reach. Reads the capabilities.
    void init(XhciEnv* env, DmaMem dma);
    u32 scratchpads() const { return hcs_scratchpads(hcs2_); }
    // regions * kBounceBytes of monitor memory the device may reach: the media bounces of
    // encrypted sticks. Without it their media commands are refused.
    void set_bounce(DmaMem mem, u32 regions);
    UsbSlot const& usb_slot(u8 slot) const { return usb_[slot]; }
    // Root port `port` (1-based) is the monitor's from now on, whatever is plugged into it:
    // the guest reads it as empty, hears none of its events and cannot address a device on
    // it, across its own controller resets (the card reader of [card] reader = hide).
    void keep_port(u32 port);
    // Halts and resets the controller (the firmware's rings are dropped: none of them was
    // shadowed). scratchpad_array: a scratchpad buffer array the monitor filled for
    // scratchpads() buffers (0 when it needs none). False when the controller does not come
    // back; it then stays mediated, and dead.
    [[nodiscard]] bool take_over(Hpa scratchpad_array);

    [[nodiscard]] u64 read(u32 off, u8 size);
    void write(u32 off, u8 size, u64 value);
    void drain_events();

    XhciCounters const& counters() const { return counters_; }
    u32 op_base() const { return op_; }
    u32 rt_base() const { return rt_; }
    u32 db_base() const { return db_; }

  private:
    struct Slot {
        u8 ring[kMaxDci + 1];  // pool index per DCI, kNoRing when none
        RingCursor cursor[kMaxDci + 1];
        u32 stalled;      // DCIs whose guest TRBs wait for room in the shadow ring
        u32 td_refused;   // DCIs whose last copied TD is unfinished and has a refused TRB
        bool enabled;
    };
    static constexpr u8 kNoRing = 0xFF;

    // register groups (xhci_controller.cpp)
    u64 read_cap(u32 off, u8 size);
    u64 read_op(u32 reg, u8 size);
    void write_op(u32 reg, u8 size, u64 value);
    u64 read_intr(u32 reg, u8 size);
    void write_intr(u32 reg, u8 size, u64 value);
    void write_doorbell(u32 index, u32 value);
    bool ext_cap_writable(u32 off) const;
    void scan_ext_caps();
    void reset_state();
    void program_device();

    // the command ring (xhci_commands.cpp)
    void ring_commands();
    [[nodiscard]] char const* shadow_command(Trb* t);
    [[nodiscard]] char const* shadow_input_context(Trb* t, InputUse use);
    [[nodiscard]] char const* shadow_dequeue(Trb* t);
    void command_completed(Trb* ev);

    // transfer rings (xhci_transfer.cpp)
    void ring_endpoint(u8 slot, u8 dci);
    void push_batch(ShadowRing& ring, u32 count, bool stalled, bool* refused, u16 const* tags, bool const* unsealed);
    [[nodiscard]] Trb defuse(Trb t) const;
    [[nodiscard]] u8 ring_for(u8 slot, u8 dci);
    void release_rings(u8 slot, u32 mask);
    void copy_out_context(u8 slot);
    [[nodiscard]] bool translate_transfer(Trb* ev);
    UsbCtx usb_ctx(u8 slot);
    void usb_reset(u8 slot);

    // the root ports, as the guest sees them (xhci_ports.cpp)
    bool port_hidden(u32 port) const;
    [[nodiscard]] bool hidden_port_access(u32 off, u8 size, bool write, u64* value);
    void hide_if_denied(u8 slot);
    [[nodiscard]] bool port_event_hidden(Trb const& ev);

    // events (xhci_events.cpp)
    [[nodiscard]] bool translate(Trb* ev);
    void load_guest_erst();
    void guest_erdp(u64 erdp);
    void report_device_erdp(bool clear_ehb);
    void retry_stalled();

    Hpa sink_dev() const { return Hpa{dma_.dev.raw + u64{3 + kMaxSlots * kSlotPages + kRingPool * kRingPages} * kPageSize}; }
    u8* slot_out(u8 s) { return dma_.virt + (3 + (s - 1) * kSlotPages) * kPageSize; }
    Hpa slot_out_dev(u8 s) const { return Hpa{dma_.dev.raw + (3 + (s - 1) * kSlotPages) * kPageSize}; }
    u8* slot_in(u8 s) { return slot_out(s) + kPageSize; }
    DmaMem slot_page(u8 s, u32 page) {
        return DmaMem{slot_out(s) + page * kPageSize, Hpa{slot_out_dev(s).raw + page * kPageSize}};
    }
    Hpa slot_in_dev(u8 s) const { return Hpa{slot_out_dev(s).raw + kPageSize}; }
    DmaMem ring_page(u32 i) const {
        u64 const off = u64{3 + kMaxSlots * kSlotPages + i * kRingPages} * kPageSize;
        return DmaMem{dma_.virt + off, Hpa{dma_.dev.raw + off}};
    }
    u64* dcbaa() { return reinterpret_cast<u64*>(dma_.virt + 2 * kPageSize + 2048); }
    Hpa dcbaa_dev() const { return Hpa{dma_.dev.raw + 2 * kPageSize + 2048}; }
    Trb* event_trbs() { return reinterpret_cast<Trb*>(dma_.virt + kPageSize); }
    Hpa event_dev() const { return Hpa{dma_.dev.raw + kPageSize}; }
    Hpa erst_dev() const { return Hpa{dma_.dev.raw + 2 * kPageSize}; }
    TrbLimits limits() const;
    ContextLayout layout() const { return ContextLayout((hcc1_ & kHccCsz) != 0); }

    XhciEnv* env_{nullptr};
    DmaMem dma_{};
    Hpa scratchpad_array_{0};
    u32 op_{0}, rt_{0}, db_{0}, hcs1_{0}, hcs2_{0}, hcc1_{0};
    static constexpr u32 kMaxExtCaps = 16;
    struct ExtCapAt {
        u32 off;
        ExtCap id;
    };
    ExtCapAt ext_caps_[kMaxExtCaps]{};  // the extended capability list, in address order
    u32 n_ext_caps_{0};
    u32 ports_{0};

    // what the guest wrote, as it wrote it
    u64 guest_crcr_{0}, guest_dcbaap_{0}, guest_erstba_{0}, guest_erdp_{0};
    u32 guest_erstsz_{0}, guest_config_{0};
    bool taken_over_{false};

    ShadowRing commands_;
    RingCursor command_cursor_{};
    bool command_cursor_set_{false};
    bool commands_stalled_{false};
    CopiedTrb copied_[kMaxTrbsPerDoorbell]{};
    alignas(64) u8 context_copy_[kDeviceContexts * 64]{};
    ShadowRing rings_[kRingPool];
    u8 ring_slot_[kRingPool]{};  // the slot a pool ring serves (0: free)
    Slot slots_[kMaxSlots + 1]{};

    GuestEventRing guest_events_;
    u32 event_idx_{0};
    bool event_cycle_{true};

    UsbSlot usb_[kMaxSlots + 1]{};
    DmaMem bounce_{};
    u32 bounce_regions_{0};
    u8 bounce_slot_[kBounceRegions]{};  // the slot a media bounce serves (0: free)

    bool swallow_{false};  // translate_transfer: the event answers the monitor's own IOC
    u64 hidden_ports_{0}, hidden_csc_{0};  // bit port-1: shown disconnected; its connect change unread
    u64 kept_ports_{0};  // bit port-1: the monitor's for good (keep_port); never cleared

    XhciCounters counters_{};
};

}  // namespace tv::usb
