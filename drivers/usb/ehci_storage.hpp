// The mass-storage path on EHCI (docs/usb.md, "EHCI"): the schedule's hook (ehci_schedule.hpp)
// that follows each device, by its address, through the qTDs the controller is given, and
// hands their pieces to the device's UsbStorage (usb_storage.hpp), shared with xHCI.
//
// - Control (endpoint 0): a Setup qTD's 8 bytes are copied into the device's small page (the
//   device reads the copy) and judged; SET_ADDRESS closes the named address's endpoints until
//   its identity was read again (Linux resets a stick that way: the same stick keeps its
//   volume and policy, another one starts afresh).
//   The data stage of a GET_DESCRIPTOR goes to the device's desc page, parsed at completion
//   before the guest's buffer gets the bytes.
// - Other endpoints run only once the configuration was seen. On a storage device's two bulk
//   endpoints: a CBW is one qTD of 31 bytes (copied, judged, the device reads the copy); data
//   qTDs are placed by UsbStorage: write data copied into the bounce and sealed before any of
//   it is given (a qTD whose bytes are not all sealed at the end of the sync is refused), read
//   data unsealed when the data stage's last qTD (or a short one) completes, and only then are
//   the data stage's qTDs shown completed; the CSW is bounced and rewritten for a refusal.
// - A bounced qTD may need at most five pages of monitor memory; one that would need a sixth
//   (a data stage whose earlier qTDs ended mid-page, then a full 20 KiB qTD) is refused.
// - A denied device is refused as a device with no medium: every command but INQUIRY and
//   REQUEST SENSE fails (NOT READY / MEDIUM NOT PRESENT); from its first command its root port
//   (when it has one of its own) is reported to the controller, which hides it.
//
// Pure: host-tested in tests/unit/test_ehci_storage.cpp against the fake controller.
#pragma once

#include "drivers/usb/ehci_schedule.hpp"
#include "drivers/usb/usb_storage.hpp"

namespace tv::usb {

class EhciStorage final : public EhciQtdHook {
  public:
    static constexpr u32 kDevices = 8;    // devices followed at once (USB addresses)
    static constexpr u32 kRegions = 2;    // media bounces, taken by encrypted sticks in use
    static constexpr u32 kMaxPieces = 320;  // qTDs of one command's data stage
    // The sink, each device's desc and small pages, the bounces.
    static constexpr u32 kPages = 1 + 2 * kDevices + kRegions * (kBounceBytes / kPageSize);

    // mem: kPages of monitor memory the controller reaches, below 4 GiB.
    void init(EhciEnv* env, DmaMem mem);
    void reset();  // the controller was reset: every device forgotten

    char const* give(u32 epchar, Qtd const& guest, Qtd* img, u16* tag) override;
    void batch_end(u32 epchar) override;
    bool ready(u32 epchar, u16 tag) const override;
    void completed(u32 epchar, u16 tag, u32 token) override;
    bool release(u32 epchar, u16 tag) const override;

    // For tests and the power-off log: the device at a USB address (nullptr: none followed).
    UsbStorage const* device(u8 addr) const;

    // Root ports (numbered from 1), so a denied device's port can be hidden: the guest reset
    // root port `port`; the next SET_ADDRESS sent to address 0 names the device on it, unless
    // a hub's port is reset first (then the device is behind that hub: no root port of its own).
    void root_port_reset(u8 port) { reset_port_ = port; }
    u8 port_of(u8 addr) const { return addr_port_[addr & 0x7F]; }
    // The root ports of devices the policy denied since the last call (bit port - 1).
    [[nodiscard]] u32 take_denied_ports() {
        u32 const p = denied_ports_;
        denied_ports_ = 0;
        return p;
    }

  private:
    struct Piece {
        u32 off, len;  // where in the data stage
        Qtd guest;     // the guest's qTD as copied: its buffers
    };
    struct Dev {
        bool used;
        u8 addr;
        u32 age;
        UsbStorage st;
        char who[16];
        Qtd desc_q, csw_q;
        u32 csw_len;
        Piece in[kMaxPieces];
        u32 in_n;
        u32 out_end[kMaxPieces];
        u32 out_n;
    };

    Dev* find(u8 addr);
    Dev const* find(u8 addr) const;
    Dev* take(u8 addr);
    void forget(Dev* d);
    StorageMem mem(Dev& d);
    u32 index(Dev const& d) const { return static_cast<u32>(&d - devs_); }
    char const* control(Dev& d, Qtd const& g, Qtd* img, u16* tag);
    char const* bot_out(Dev& d, Qtd const& g, Qtd* img, u16* tag);
    char const* bot_in(Dev& d, Qtd const& g, Qtd* img, u16* tag);
    char const* place(Qtd* img, u32 dev, u32 len) const;
    void sink(Qtd* img) const;
    void copy_out(Dev& d, Qtd const& q, u8 const* src, u32 from, u32 n);

    EhciEnv* env_{nullptr};
    DmaMem mem_{};
    Dev devs_[kDevices]{};
    u32 clock_{0};
    u8 region_dev_[kRegions]{};  // device index + 1
    u8 reset_port_{0};
    u8 addr_port_[128]{};  // the root port each address was given on (0: unknown or behind a hub)
    u32 denied_ports_{0};
};

}  // namespace tv::usb
