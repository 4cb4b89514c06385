// What the xHCI mediator knows of one device (slot) beyond its rings, and the mass-storage
// path through the storage pipeline (docs/usb.md, "Mass storage").
//
// - Descriptors: the Data Stage of every GET_DESCRIPTOR (device, configuration, string) is
//   bounced through a monitor page; the mediator parses the device's bytes there before it
//   copies them to the guest, so the guest cannot lie about what the device is. Until the
//   configuration was seen, no endpoint but the default one may run (fail closed: a storage
//   device the mediator did not recognize would otherwise move plaintext). SET_CONFIGURATION
//   of a configuration not seen and SET_INTERFACE to a storage interface's alternate
//   setting (UAS) are refused.
// - Bulk-Only Transport on the storage interface's two bulk endpoints: the mediator follows
//   CBW -> data -> CSW by the bytes the guest queued. Each CBW is copied into monitor memory
//   (the device reads the copy) and decided: READ/WRITE through the slot's storage::Volume
//   (writes copied and sealed in a monitor bounce before the device sees them, reads unsealed
//   there before the guest sees the transfer event); passed commands run as they are; refused
//   ones are replaced by TEST UNIT READY with the same data stage (the data goes to the sink),
//   their CSW rewritten to Failed and the next REQUEST SENSE given the refusal's sense.
// - The device policy (UsbRule, from [usb]) is asked once per device at its first CBW, and
//   logged with the identity.
//
// Pure: host-tested in tests/unit/test_usb_storage.cpp against the fake controller.
#pragma once

#include "core/config_usb.hpp"
#include "drivers/usb/usb_bot.hpp"
#include "drivers/usb/usb_identity.hpp"
#include "drivers/usb/xhci_ring.hpp"
#include "drivers/usb/xhci_shadow_ring.hpp"
#include "storage/volume.hpp"

namespace tv::usb {

using tv::UsbRule;  // core/config_usb.hpp: the administrator's words
char const* usb_rule_name(UsbRule r);

// What an event naming a shadow TRB asks of the slot: kind in bits 15:12, index below.
enum class TrbRole : u8 { None, DescData, DescStatus, BotIn, BotCsw };
constexpr u16 trb_tag(TrbRole r, u32 index = 0) { return static_cast<u16>(u32{static_cast<u8>(r)} << 12 | (index & 0xFFF)); }
constexpr TrbRole tag_role(u16 tag) { return static_cast<TrbRole>(tag >> 12); }
constexpr u32 tag_index(u16 tag) { return tag & 0xFFFu; }

// One encrypted stick's media bounce: Linux sends up to 1 MiB per command (2048 sectors on a
// high-speed stick behind xHCI), in up to 256 page-sized pieces.
inline constexpr u32 kBounceBytes = 1u << 20;
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
    bool storage_bot() const { return cfg_seen_ && cfg_.bot; }
    // The policy denies this device (known once its first mass-storage command was seen).
    bool denied() const { return classified_ && rule_ == UsbRule::Deny; }
    bool needs_bounce() const { return bounce_wanted_; }
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

    UsbIdentity const& identity() const { return id_; }
    storage::Volume const& volume() const { return volume_; }

  private:
    struct Cmd {
        Cbw cbw;
        ScsiCommand scsi;
        bool refused;    // CSW rewritten to Failed, sense_ kept for REQUEST SENSE
        ScsiSense sense;
        bool sink;       // its data stage goes to the sink
        bool media;      // data bounced through the volume
        bool small;      // data-in bounced through the small page (capacity, sense)
        bool sense_patch;
    };

    // control endpoint (usb_slot_control.cpp)
    char const* control(UsbCtx const& c, Trb* t, u16* tag);
    void control_event(UsbCtx const& c, TrbRole role, Trb const& ev);
    void descriptor_arrived(UsbCtx const& c, u32 got);

    // bulk-only transport (usb_slot_bot.cpp)
    char const* bot_out(UsbCtx const& c, Trb* t, u16* tag);
    char const* bot_in(UsbCtx const& c, Trb* t, u16* tag);
    char const* cbw(UsbCtx const& c, Trb* t);
    void classify(UsbCtx const& c);
    void decide(UsbCtx const& c, Cmd* cmd);
    void refuse(Cmd* cmd, ScsiSense s);
    void data_in_done(UsbCtx const& c, u32 got);
    void csw_done(UsbCtx const& c, u32 got);
    u8* in_area(UsbCtx const& c) const;

    // descriptors
    UsbIdentity id_{};
    ConfigInfo cfg_{};
    bool device_seen_{false}, serial_seen_{false}, cfg_seen_{false};
    u64 setup_{0};       // the last Setup Stage (its 8 bytes) of the control endpoint
    bool desc_pending_{false};
    Gpa desc_guest_{0};
    u32 desc_len_{0};

    // storage
    bool classified_{false}, listed_{false}, identity_ok_{false}, bounce_wanted_{false};
    UsbRule rule_{UsbRule::Allow};
    storage::Volume volume_{};
    Cmd cmd_{};
    u32 out_left_{0}, in_left_{0}, out_off_{0}, sealed_{0}, in_off_{0};
    bool sense_pending_{false};
    ScsiSense pending_sense_{};
    struct InEntry {
        Gpa guest;
        u32 off, len;
    };
    InEntry in_[kMaxBotEntries]{};
    u32 in_count_{0};
    bool in_done_{false};
    Gpa csw_guest_{0};
    u32 csw_len_{0};
    // The doorbell's bounced data-out TRBs: their copied index and their data's end offset.
    static constexpr u32 kBatchMax = ShadowRing::kUsable;
    u16 batch_idx_[kBatchMax]{};
    u32 batch_end_[kBatchMax]{};
    u32 batch_n_{0}, cur_idx_{0};
};

}  // namespace tv::usb
