// A small, polled xHCI host driver for the monitor's own use at boot, before the guest runs
// (and before the xHCI mediator takes the controller): reset the controller, power and reset
// the root ports with a device, address each device, read its descriptors, configure one
// interface and move data on its bulk endpoints, also behind hubs (the slot context's route
// string and TT fields). No interrupts: enough to talk to a smart-card reader. stop() resets the controller again, so
// the firmware's and the guest's drivers find it as after power-on.
//
// Reaches the controller through the direct map (BAR0 below 4 GiB) and gives it monitor pages
// for its rings and contexts (no IOMMU is on yet at this point of the boot).
#pragma once

#include "core/types.hpp"
#include "drivers/pci/pci.hpp"
#include "drivers/usb/host/usb_host.hpp"
#include "drivers/usb/xhci_trb.hpp"

namespace tv::usb::host {

class XhciHost final : public UsbHost {
  public:
    // Takes the controller at b (class 0C 03 30). False, with a log line, if it cannot.
    [[nodiscard]] bool start(pci::Bdf b);
    // Halts and resets the controller, gives back its pages and restores its PCI command register.
    void stop();

    // UsbHost (usb_host.hpp)
    char const* name() const override { return "xHCI"; }
    u32 ports() const override { return ports_; }
    [[nodiscard]] bool attach(u8 port, UsbDevice& dev) override;
    [[nodiscard]] bool attach_child(UsbDevice& dev) override;
    [[nodiscard]] bool set_hub(UsbDevice const& dev, u8 ports, bool multi_tt) override;
    [[nodiscard]] bool control(UsbDevice const& dev, u8 const (&setup)[8], u8* data, u32 len, u32& got) override;
    [[nodiscard]] bool configure_bulk(UsbDevice const& dev, u8 in_ep, u16 in_mps, u8 out_ep, u16 out_mps) override;
    // A Normal TRB, its doorbell rung again every 250 ms while it waits.
    [[nodiscard]] bool bulk(UsbDevice const& dev, u8 ep, u8* data, u32 len, u32& got, u64 timeout_us) override;
    void delay_us(u32 us) override;
    void note(char const* line) override;

  private:
    struct Ring {
        Trb* trbs{nullptr};
        u64 phys{0};
        u32 enqueue{0};
        bool cycle{true};
    };
    [[nodiscard]] bool reset_controller();
    [[nodiscard]] bool address(UsbDevice& dev);  // Enable Slot, Address Device
    [[nodiscard]] bool alloc_ring(Ring& r);
    void push(Ring& r, Trb t);
    [[nodiscard]] bool next_event(Trb& ev, u64 timeout_us);
    [[nodiscard]] bool command(Trb t, Trb& done);
    // timed_out (if given) tells a timeout from an error; without it a timeout is logged.
    [[nodiscard]] bool wait_transfer(u8 slot, u32& residual, u64 timeout_us, bool* timed_out = nullptr);
    u32 op32(u32 off);
    void op_w32(u32 off, u32 v);
    void op_w64(u32 off, u64 v);
    void ring_doorbell(u32 slot, u32 target);
    [[nodiscard]] u64 page();  // a zeroed 4 KiB monitor page, recorded for stop()

    pci::Bdf bdf_{};
    u16 saved_command_{0};
    u8 volatile* cap_{nullptr};
    u8 volatile* op_{nullptr};
    u8 volatile* rt_{nullptr};
    u8 volatile* db_{nullptr};
    u32 ports_{0};
    u32 max_slots_{0};
    bool csz64_{false};
    u64* dcbaa_{nullptr};
    Ring cmd_{};
    u8* bounce_{nullptr};  // every transfer's data goes through this page (wiped after each)
    u64 bounce_phys_{0};
    Trb* events_{nullptr};
    u64 events_phys_{0};
    u32 ev_dequeue_{0};
    bool ev_cycle_{true};
    static constexpr u32 kMaxPages = 64;
    u64 pages_[kMaxPages]{};
    u32 page_count_{0};
    static constexpr u32 kMaxSlots = 8;
    Ring ep_rings_[kMaxSlots + 1][32]{};  // [slot][dci]
    u64 input_ctx_[kMaxSlots + 1]{};
    bool started_{false};
};

}  // namespace tv::usb::host
