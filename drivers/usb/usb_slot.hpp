// What the xHCI mediator knows of one device (slot) beyond its rings: the TRB side of the
// mass-storage path, whose decisions live in usb_storage.hpp (shared with EHCI).
//
// - Descriptors: the Data Stage of every GET_DESCRIPTOR is bounced through the slot's desc
//   page and given to UsbStorage before the guest's buffer gets the bytes.
// - Bulk-Only Transport on the storage interface's two bulk endpoints: a CBW is one TRB of 31
//   bytes (the device reads the monitor's copy); each data TRB is placed by UsbStorage (the
//   guest's buffer, the sink, the bounce, the small page); data-out TRBs whose bytes were not
//   sealed by the doorbell's end are refused (batch_end); data-in reaches the guest's buffers
//   when the event for the data stage's last TRB (or a short one) is translated.
//
// Pure: host-tested in tests/unit/test_usb_storage.cpp against the fake controller.
#pragma once

#include "drivers/usb/usb_storage.hpp"
#include "drivers/usb/xhci_ring.hpp"
#include "drivers/usb/xhci_shadow_ring.hpp"

namespace tv::usb {

// What an event naming a shadow TRB asks of the slot: kind in bits 15:12, index below.
enum class TrbRole : u8 { None, DescData, DescStatus, BotIn, BotCsw };
constexpr u16 trb_tag(TrbRole r, u32 index = 0) { return static_cast<u16>(u32{static_cast<u8>(r)} << 12 | (index & 0xFFF)); }
constexpr TrbRole tag_role(u16 tag) { return static_cast<TrbRole>(tag >> 12); }
constexpr u32 tag_index(u16 tag) { return tag & 0xFFFu; }

inline constexpr u32 kMaxBotEntries = 320;  // data-in TRBs of one command

// The monitor memory and services one slot works with.
class XhciEnv;
struct UsbCtx {
    XhciEnv* env;
    GuestView const* g;
    DmaMem desc;    // one page: descriptor Data Stages
    DmaMem small;   // one page: the CBW given to the device, the CSW, small data-in
    DmaMem bounce;  // kBounceBytes for media data (virt null: none, encrypted media refused)
    Hpa sink;       // where refused commands' data goes
    u8 slot;
};

class UsbSlot {
  public:
    void reset();       // a new device in the slot
    void reset_bot();   // the device's BOT state machine was reset
    bool storage_bot() const { return dev_.storage_bot(); }
    // The policy denies this device (known once its first mass-storage command was seen).
    bool denied() const { return dev_.denied(); }
    // Whether the guest may ring this endpoint (nullptr) or why not.
    [[nodiscard]] char const* endpoint_allowed(u8 dci) const;

    // A TRB of the guest's that passed check_transfer_trb, at the doorbell of dci: rewritten
    // in place where the mediator bounces it, *tag set for its event; else why it is refused.
    // index: the TRB's place among the doorbell's copied TRBs (for batch_end).
    [[nodiscard]] char const* transfer(UsbCtx const& c, u8 dci, u32 index, Trb* t, u16* tag);
    // After the doorbell's TRBs: seals the data-out copied. unsealed[i] is set for each TRB
    // (by the order transfer() saw them) that still holds bytes the device must not read.
    void batch_end(UsbCtx const& c, u8 dci, bool* unsealed, u32 count);
    // A transfer event naming a TRB tagged `tag` (before the guest sees it; may rewrite it).
    void event(UsbCtx const& c, u8 dci, u16 tag, Trb* ev);

    UsbIdentity const& identity() const { return dev_.identity(); }
    storage::Volume const& volume() const { return dev_.volume(); }

  private:
    StorageMem mem(UsbCtx const& c) const;
    // control endpoint (usb_slot_control.cpp)
    char const* control(UsbCtx const& c, Trb* t, u16* tag);
    void control_event(UsbCtx const& c, TrbRole role, Trb const& ev);
    void descriptor_arrived(UsbCtx const& c, u32 got);

    // bulk-only transport (usb_slot_bot.cpp)
    char const* bot_out(UsbCtx const& c, Trb* t, u16* tag);
    char const* bot_in(UsbCtx const& c, Trb* t, u16* tag);
    char const* cbw(UsbCtx const& c, Trb* t);
    void data_in_done(UsbCtx const& c, u32 got);
    void csw_done(UsbCtx const& c, u32 got);

    UsbStorage dev_{};
    char who_[16]{};
    Gpa desc_guest_{0};
    struct InEntry {
        Gpa guest;
        u32 off, len;
    };
    InEntry in_[kMaxBotEntries]{};
    u32 in_count_{0};
    Gpa csw_guest_{0};
    u32 csw_len_{0};
    // The doorbell's bounced data-out TRBs: their copied index and their data's end offset.
    static constexpr u32 kBatchMax = ShadowRing::kUsable;
    u16 batch_idx_[kBatchMax]{};
    u32 batch_end_[kBatchMax]{};
    u32 batch_n_{0}, cur_idx_{0};
};

}  // namespace tv::usb
