// One USB device as the mass-storage path sees it, whichever host controller carries it
// (docs/usb.md, "Mass storage"): the xHCI mediator (usb_slot.hpp, TRBs) and the EHCI mediator
// (ehci_storage.hpp, qTDs) both keep one UsbStorage per device and hand it the pieces of
// each transfer; the decisions and the storage pipeline's calls are all here.
//
// - Descriptors: the transport bounces every GET_DESCRIPTOR's data stage through `desc` and
//   calls descriptor_arrived with the device's bytes before it copies them to the guest.
//   Until the configuration was seen, no endpoint but the default one may run. SET_CONFIGURATION
//   of a configuration not seen and SET_INTERFACE to a storage interface's alternate setting
//   (UAS) are refused at their setup.
// - Bulk-Only Transport: the transport counts the bytes the guest queues on the two bulk
//   endpoints. With no data stage pending, a bulk-out transfer is a CBW: cbw() judges the
//   monitor's copy and writes what the device reads (the CBW, or TEST UNIT READY for a refused
//   one) into `small`. The data stage's pieces are placed by out_data/in_data (the guest's own
//   buffer, the sink, the media bounce, the small page); write data copied into the bounce is
//   sealed by seal() before the device may read it, read data is unsealed by in_finish before
//   the guest sees it. The CSW is bounced and rewritten to Failed for a refused command; the
//   next REQUEST SENSE carries the refusal's sense.
// - The device policy (UsbRule, from [usb]) is asked once per device at its first CBW, and
//   logged with the identity.
//
// Pure: host-tested through both mediators (tests/unit/test_usb_storage.cpp,
// test_ehci_storage.cpp).
#pragma once

#include "core/config_usb.hpp"
#include "drivers/usb/usb_bot.hpp"
#include "drivers/usb/usb_identity.hpp"
#include "drivers/usb/xhci_ring.hpp"
#include "drivers/usb/xhci_shadow_ring.hpp"  // DmaMem
#include "storage/volume.hpp"

namespace tv::usb {

using tv::UsbRule;  // core/config_usb.hpp: the administrator's words
char const* usb_rule_name(UsbRule r);

// What the mass-storage path needs of the monitor: log lines and the policy.
class UsbStorageEnv {
  public:
    virtual void refused(char const* what, char const* why) = 0;  // a refusal: rate-limited log line
    virtual void note(char const* what) = 0;                     // a rare event worth a log line
    // The device policy ([usb], docs/config.md) for a device of this identity (serial_read:
    // whether id.serial is the device's, read from its string descriptor).
    virtual UsbRule usb_rule(UsbIdentity const& /*id*/, bool /*serial_read*/) { return UsbRule::Allow; }

  protected:
    ~UsbStorageEnv() = default;
};

// One encrypted stick's media bounce: Linux sends up to 1 MiB per command (2048 sectors on a
// high-speed stick behind xHCI), in up to 256 page-sized pieces.
inline constexpr u32 kBounceBytes = 1u << 20;
// The small page: the CBW the device reads, the CSW it writes, small data-in (capacity, sense).
inline constexpr u32 kCbwOff = 0, kCswOff = 64, kCswMax = 512, kSmallInOff = 1024;
inline constexpr u32 kSmallInMax = kPageSize - kSmallInOff;

// The monitor memory one device works with.
struct StorageMem {
    UsbStorageEnv* env;  // may be null (no log, policy allow)
    GuestView const* g;
    DmaMem desc;    // one page: descriptor data stages
    DmaMem small;   // one page: see kCbwOff...
    DmaMem bounce;  // kBounceBytes for media data (virt null: none, encrypted media refused)
    char const* who;  // the log's name of the device ("usb slot 3", "ehci 00:04.0 device 2")
};

// Where a piece of a data stage goes: the guest's own buffer (passed or plaintext media), the
// monitor's sink (a refused command), the bounce or the small page at an offset.
enum class Place : u8 { Guest, Sink, Bounce, Small };

class UsbStorage {
  public:
    void reset();      // a new device
    void reset_bot();  // the device's BOT state machine was reset
    // The device's address was set again (a device reset, or another device there): no endpoint
    // but the default one runs until its identity was read again; the same device keeps its
    // volume and policy, another one starts from scratch.
    void readdressed();

    // Control transfers (usb_storage_desc.cpp). setup: the 8 bytes of a Setup stage, as the
    // monitor copied them; a refusal or nullptr.
    [[nodiscard]] char const* setup(u64 setup);
    // The data stage of the last setup is a GET_DESCRIPTOR the monitor bounces (in: its direction).
    bool descriptor_wanted(bool in) const;
    [[nodiscard]] char const* descriptor_begin(u32 len);
    bool descriptor_pending() const { return desc_pending_; }
    u32 descriptor_len() const { return desc_len_; }
    void descriptor_failed() { desc_pending_ = false; }
    // The device's bytes arrived in m.desc (got of them); parsed before the guest sees them.
    void descriptor_arrived(StorageMem const& m, u32 got);

    bool storage_bot() const { return cfg_seen_ && cfg_.bot; }
    u8 bulk_in() const { return cfg_.bulk_in; }
    u8 bulk_out() const { return cfg_.bulk_out; }
    // Whether the guest may use endpoints other than the default one (nullptr) or why not.
    [[nodiscard]] char const* endpoints_allowed() const;
    // The policy denies this device (known once its first mass-storage command was seen).
    bool denied() const { return classified_ && rule_ == UsbRule::Deny; }

    // Bulk-Only (usb_storage.cpp). A bulk-out transfer with no data stage pending is a CBW.
    bool cbw_expected() const { return out_left_ == 0; }
    bool csw_expected() const { return in_left_ == 0; }
    // raw: the monitor's copy of the guest's transfer; the device is given m.small + kCbwOff.
    [[nodiscard]] char const* cbw(StorageMem const& m, u8 const* raw, u32 len);
    // The next len bytes of the data stage: where they go. For Place::Bounce the transport
    // copies the guest's bytes to m.bounce + *off (out) before calling seal().
    [[nodiscard]] char const* out_data(StorageMem const& m, u32 len, Place* p, u32* off);
    // Seals the whole sectors copied so far; bytes before sealed() may reach the device.
    void seal(StorageMem const& m);
    u32 sealed() const { return sealed_; }
    bool media() const { return cmd_.media; }
    [[nodiscard]] char const* in_data(u32 len, Place* p, u32* off);
    // The CSW of len bytes: the device writes it at m.small + kCswOff.
    [[nodiscard]] char const* csw_begin(StorageMem const& m, u32 len);

    // Data-in: the bytes of the data stage placed so far, whether it is over.
    u32 in_placed() const { return in_off_; }
    bool in_over() const { return in_done_; }
    bool in_pending_data() const { return in_left_ != 0; }
    // The device moved `got` bytes of the data stage (all of it, or a short one): the bytes
    // the guest gets (0: none), in in_area(). The transport copies them, then in_clear().
    u32 in_finish(StorageMem const& m, u32 got);
    void in_failed() { in_done_ = true; }
    u8* in_area(StorageMem const& m) const;
    void in_clear(StorageMem const& m);
    // The CSW arrived (got bytes at m.small + kCswOff): rewritten for a refused command.
    void csw_finish(StorageMem const& m, u32 got);

    UsbIdentity const& identity() const { return id_; }
    storage::Volume const& volume() const { return volume_; }

  private:
    struct Cmd {
        Cbw cbw;
        ScsiCommand scsi;
        bool refused;  // CSW rewritten to Failed, sense_ kept for REQUEST SENSE
        ScsiSense sense;
        bool sink;   // its data stage goes to the sink
        bool media;  // data bounced through the volume
        bool small;  // data-in bounced through the small page (capacity, sense)
        bool sense_patch;
    };

    void classify(StorageMem const& m);
    void identity_changed();
    void check_identity();
    void decide(StorageMem const& m, Cmd* cmd);
    static void refuse(Cmd* cmd, ScsiSense s);
    storage::DiskId disk_id() const;

    // descriptors
    UsbIdentity id_{};
    ConfigInfo cfg_{};
    bool device_seen_{false}, serial_seen_{false}, cfg_seen_{false};
    bool reid_{false};     // readdressed: the identity must be read again and match prev_
    UsbIdentity prev_{};
    u64 setup_{0};  // the last Setup stage (its 8 bytes) of the control endpoint
    bool desc_pending_{false};
    u32 desc_len_{0};

    // storage
    bool classified_{false}, listed_{false}, identity_ok_{false};
    UsbRule rule_{UsbRule::Allow};
    storage::Volume volume_{};
    Cmd cmd_{};
    u32 out_left_{0}, in_left_{0}, out_off_{0}, sealed_{0}, in_off_{0};
    bool sense_pending_{false};
    ScsiSense pending_sense_{};
    bool in_done_{false};
};

}  // namespace tv::usb
