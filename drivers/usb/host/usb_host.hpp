// What the boot-time card reader needs from a USB host controller driver, whatever the
// controller (xhci_host, ehci_host): attach a device on a root port or behind a hub port,
// control transfers on endpoint 0, bulk transfers on two configured endpoints. The
// enumeration (usb_enum) and the CCID reader's pipe (HostBulkPipe) only see this, so card/
// and the enumeration are the same on every controller and host-tested against a fake.
#pragma once

#include "card/ccid_reader.hpp"
#include "core/types.hpp"

namespace tv::usb::host {

// xHCI's port speed ids (xHCI 1.2, 7.2.2.1.1), used for every controller.
enum class UsbSpeed : u8 { Unknown = 0, Full = 1, Low = 2, High = 3, Super = 4 };

// The most hubs between a root port and a device that the enumeration follows (the xHCI
// route string has room for five).
inline constexpr u8 kMaxHubDepth = 3;

struct UsbDevice {
    u8 port{0};  // root port, 1-based
    UsbSpeed speed{UsbSpeed::Unknown};
    u8 slot{0};        // xHCI slot id; EHCI device address
    u8 depth{0};       // hubs between it and its root port
    u32 route{0};      // xHCI route string: the hub port at each tier, 4 bits a tier
    u8 tt_hub{0};      // a full/low-speed device behind a high-speed hub: that hub's slot/address
    u8 tt_port{0};     // ... and the hub port it is on (its transaction translator serves it)
    bool tt_multi{false};
    u8 hub_ports{0};   // set on a hub once its descriptor has been read
};

class UsbHost {
  public:
    virtual char const* name() const = 0;  // "xHCI", "EHCI": for log lines
    virtual u32 ports() const = 0;
    // Resets root port p (1-based) if a device is connected there and addresses it. False if
    // nothing is connected or it fails (a full-speed device on an EHCI root port: false, the
    // port handed to its companion).
    [[nodiscard]] virtual bool attach(u8 port, UsbDevice& dev) = 0;
    // Addresses a device behind a hub, found and reset by the caller: dev's port, speed,
    // depth, route and TT fields are set (child_of()); fills in its slot.
    [[nodiscard]] virtual bool attach_child(UsbDevice& dev) = 0;
    // Tells the controller that dev is a hub with `ports` ports (xHCI: the slot context's
    // Hub, MTT and Number of Ports; nothing on EHCI).
    [[nodiscard]] virtual bool set_hub(UsbDevice const& dev, u8 ports, bool multi_tt) = 0;
    // A control transfer on endpoint 0 (IN when setup's bmRequestType bit 7 is set).
    [[nodiscard]] virtual bool control(UsbDevice const& dev, u8 const (&setup)[8], u8* data, u32 len, u32& got) = 0;
    // Configures the bulk endpoints (addresses with bit 7 for IN).
    [[nodiscard]] virtual bool configure_bulk(UsbDevice const& dev, u8 in_ep, u16 in_mps, u8 out_ep,
                                              u16 out_mps) = 0;
    // One bulk transfer: false on an error or after timeout_us.
    [[nodiscard]] virtual bool bulk(UsbDevice const& dev, u8 ep, u8* data, u32 len, u32& got, u64 timeout_us) = 0;
    virtual void delay_us(u32 us) = 0;
    virtual void note(char const* line) = 0;  // a line for the monitor log

  protected:
    ~UsbHost() = default;
};

// The reader's bulk pipes on any host, as a card::BulkPipe.
class HostBulkPipe final : public card::BulkPipe {
  public:
    HostBulkPipe(UsbHost& h, UsbDevice const& d, u8 in_ep, u8 out_ep, u16 packet)
        : host_{h}, dev_{d}, in_{in_ep}, out_{out_ep}, packet_{packet} {}
    [[nodiscard]] bool bulk_out(u8 const* data, u32 len) override;
    [[nodiscard]] bool bulk_in(u8* buf, u32 cap, u32& got) override;
    u32 max_packet() const override { return packet_; }

  private:
    UsbHost& host_;
    UsbDevice dev_;
    u8 in_, out_;
    u16 packet_;
    u64 last_in_us_ = 0;  // when the last bulk-in transfer completed (the command gap)
};

}  // namespace tv::usb::host
