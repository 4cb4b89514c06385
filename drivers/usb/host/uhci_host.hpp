// A small, polled UHCI host driver for the monitor's own use at boot, before the guest runs:
// the full- and low-speed side of a PC's USB, where an EHCI hands its full-speed devices
// (QEMU's usb-ccid among them) to its companion controllers. Clear the BIOS's legacy support
// (SMIs, keyboard emulation), reset the controller, point every frame at one monitor-owned
// queue head, reset and enable the root ports, address devices, and run control and bulk
// transfers as chains of TDs (one a packet) under that queue head, all in monitor pages below
// 4 GiB. stop() resets the controller again and restores its legacy-support register, so the
// guest's driver finds it as after power-on. The TD building is in uhci_host_td.
#pragma once

#include "core/types.hpp"
#include "drivers/pci/pci.hpp"
#include "drivers/usb/host/uhci_host_td.hpp"
#include "drivers/usb/host/usb_host.hpp"

namespace tv::usb::host {

class UhciHost final : public UsbHost {
  public:
    // Takes the controller at b (class 0C 03 00). False, with a log line, if it cannot.
    [[nodiscard]] bool start(pci::Bdf b);
    void stop();

    // UsbHost (usb_host.hpp)
    char const* name() const override { return "UHCI"; }
    u32 ports() const override { return ports_; }
    [[nodiscard]] bool attach(u8 port, UsbDevice& dev) override;
    [[nodiscard]] bool attach_child(UsbDevice& dev) override;
    [[nodiscard]] bool set_hub(UsbDevice const&, u8, bool) override { return true; }
    [[nodiscard]] bool control(UsbDevice const& dev, u8 const (&setup)[8], u8* data, u32 len, u32& got) override;
    [[nodiscard]] bool configure_bulk(UsbDevice const& dev, u8 in_ep, u16 in_mps, u8 out_ep, u16 out_mps) override;
    [[nodiscard]] bool bulk(UsbDevice const& dev, u8 ep, u8* data, u32 len, u32& got, u64 timeout_us) override;
    void delay_us(u32 us) override;
    void note(char const* line) override;

  private:
    static constexpr u32 kTds = 128;  // one page of 32-byte TDs
    struct Endpoint {
        u16 mps{0};
        bool toggle{false};
    };
    [[nodiscard]] bool reset_controller();
    [[nodiscard]] bool address(UsbDevice& dev);
    [[nodiscard]] bool control_at(u8 addr, bool low, u16 mps0, u8 const (&setup)[8], u8* data, u32 len, u32& got);
    // Runs td[first..first+n) under the queue head; Short ends a stage early (IN).
    [[nodiscard]] UhciProgress run(u32 first, u32 n, u64 timeout_us, u32& bytes, u32& finished);
    u16 reg16(u16 off);
    void reg_w16(u16 off, u16 v);
    [[nodiscard]] u64 page();

    pci::Bdf bdf_{};
    u16 saved_command_{0};
    u16 saved_legsup_{0};
    u16 io_{0};
    u32 ports_{0};
    UhciQh* qh_{nullptr};
    UhciTd* tds_{nullptr};
    u32 tds_phys_{0};
    u8* bounce_{nullptr};  // every transfer's data (and the setup packet at its end)
    u32 bounce_phys_{0};
    u8 next_addr_{1};
    bool low_[128]{};   // by address: a low-speed device
    u16 mps0_[128]{};   // by address: endpoint 0's packet size
    Endpoint eps_[128][2]{};  // by address: the reader's bulk IN [0] and OUT [1]
    u8 ep_addr_[128][2]{};
    static constexpr u32 kMaxPages = 4;
    u64 pages_[kMaxPages]{};
    u32 page_count_{0};
    bool started_{false};
};

}  // namespace tv::usb::host
