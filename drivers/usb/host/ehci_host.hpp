// A small, polled EHCI host driver for the monitor's own use at boot, before the guest runs
// (and before the EHCI mediator takes the controller): take the controller from the BIOS
// (USBLEGSUP), reset it, route the root ports to it, reset each port with a device (a full-
// or low-speed device is handed to the companion controller), address devices, and run
// control and bulk transfers through a monitor-owned asynchronous schedule: one QH per
// endpoint in a ring behind a halted head, three qTDs and one bounce page, all in monitor
// pages below 4 GiB. Devices behind a high-speed hub get split transactions (the hub's
// address and port in their QH). stop() resets the controller again, so the guest's driver
// and the mediator find it as after power-on. The QH/qTD building is in ehci_host_qh.
#pragma once

#include "core/types.hpp"
#include "drivers/pci/pci.hpp"
#include "drivers/usb/ehci_layout.hpp"
#include "drivers/usb/host/usb_host.hpp"

namespace tv::usb::host {

class EhciHost final : public UsbHost {
  public:
    // Takes the controller at b (class 0C 03 20). False, with a log line, if it cannot.
    [[nodiscard]] bool start(pci::Bdf b);
    // Halts and resets the controller, gives back its pages and restores its PCI command register.
    void stop();

    // UsbHost (usb_host.hpp)
    char const* name() const override { return "EHCI"; }
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
    static constexpr u32 kQhs = 32;  // 64-byte slots in one page; slot 0 is the ring's head
    struct QhInfo {
        u8 addr{0}, ep{0};  // ep: the endpoint address (bit 7 for IN), 0 for control
        bool used{false};
    };
    [[nodiscard]] bool take_from_bios();
    [[nodiscard]] bool reset_controller();
    [[nodiscard]] bool set_async(bool on);
    [[nodiscard]] Qh* add_qh(UsbDevice const& dev, u8 addr, u8 ep, u16 mps);
    Qh* find_qh(u8 addr, u8 ep);
    [[nodiscard]] bool address(UsbDevice& dev);
    [[nodiscard]] bool control_at(u8 addr, u8 const (&setup)[8], u8* data, u32 len, u32& got);
    // Hands the qTDs at td_phys_ to qh and waits for qTD `last`; false on an error or timeout.
    [[nodiscard]] bool run(Qh* qh, u32 last, u64 timeout_us, bool& timed_out);
    void recover(Qh* qh);  // the queue emptied and un-halted, its data toggle kept
    u32 op32(u32 off);
    void op_w32(u32 off, u32 v);
    [[nodiscard]] u64 page();  // a zeroed 4 KiB monitor page below 4 GiB, recorded for stop()

    pci::Bdf bdf_{};
    u16 saved_command_{0};
    u8 eecp_{0};
    u8 volatile* op_{nullptr};
    u32 ports_{0};
    u8* qh_page_{nullptr};  // kQhs QHs, 64 bytes apart
    Qh* qh_at(u32 i) { return reinterpret_cast<Qh*>(qh_page_ + 64 * i); }
    u32 qhs_phys_{0};
    QhInfo qh_info_[kQhs]{};
    Qtd* tds_{nullptr};  // three qTDs, then the setup packet at kSetupOffset
    u32 td_phys_{0};
    u8* bounce_{nullptr};  // every transfer's data goes through this page (wiped after each)
    u32 bounce_phys_{0};
    u8 next_addr_{1};
    static constexpr u32 kMaxPages = 4;
    u64 pages_[kMaxPages]{};
    u32 page_count_{0};
    bool started_{false};
};

}  // namespace tv::usb::host
