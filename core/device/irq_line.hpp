// One way for an emulated device to interrupt the guest: an IrqLine, raised by the device
// model whenever its hardware would assert its interrupt. Two routes, as a real device has:
//   - IOAPIC: a legacy IRQ (the AoE disk's IRQ 14). The guest's own redirection entry for
//     the line gives the vector and the mask; the vector is sent to the running CPU's local
//     APIC as a fixed self-IPI. The monitor intercepts no interrupts, so the guest takes it
//     after VM entry once its IF allows, exactly once. A masked entry (PIC mode, or a guest
//     not listening) sends nothing: drivers then poll.
//   - MSI: the address and data the guest wrote into the device's MSI capability, sent as
//     the IPI that message describes (destination, physical or logical, fixed or lowest
//     priority). Only those two delivery modes: an emulated device never lets the guest make
//     the monitor send an INIT, SIPI, NMI, SMI or ExtINT, which would reset or stop a CPU
//     behind the monitor's back.
// Vectors below 0x20 are the CPU's exceptions: refused on both routes.
// The controllers are reached through IrqControllers (the monitor's real ones, or a fake in
// host tests).
#pragma once

#include "core/types.hpp"

namespace tv {

// A fixed-delivery, edge-triggered IPI.
struct IpiMessage {
    u8 vector;
    bool self;      // to the CPU that raises it (dest and logical unused)
    bool logical;   // destination mode
    bool lowest;    // lowest-priority rather than fixed delivery
    u32 dest;       // APIC ID (physical) or logical destination
};

class IrqControllers {
  public:
    // The low dword of the IOAPIC's redirection entry for `gsi` (vector, delivery, mask),
    // with the guest's register select put back afterwards.
    virtual u32 ioapic_entry_low(u32 gsi) = 0;
    // False when the local APIC cannot be reached safely (logged by the implementation).
    [[nodiscard]] virtual bool send_ipi(IpiMessage const& m) = 0;

  protected:
    ~IrqControllers() = default;
};

enum class IrqResult : u8 {
    Sent,
    Masked,   // the guest does not listen now (masked entry, MSI disabled): nothing sent
    Refused,  // the guest's routing asks for something the monitor will not send
};

struct IrqCounters {
    u64 sent, masked, refused;
};

class IrqLine {
  public:
    // A legacy line routed through the guest's IOAPIC entry for `gsi`.
    static constexpr IrqLine ioapic(u32 gsi) { return IrqLine{gsi}; }
    // A line whose device has an MSI capability: `address`/`data` as the guest last
    // programmed it; until enabled the line is masked.
    static constexpr IrqLine msi() { return IrqLine{kNoGsi}; }

    void set_msi(u64 address, u32 data, bool enabled) {
        msi_address_ = address;
        msi_data_ = data;
        msi_enabled_ = enabled;
    }

    // Asserts the line once (an edge). Any CPU may raise it.
    IrqResult raise(IrqControllers& hw);

    IrqCounters counters() const;

  private:
    static constexpr u32 kNoGsi = ~0u;
    explicit constexpr IrqLine(u32 gsi) : gsi_(gsi) {}
    IrqResult from_ioapic(IrqControllers& hw, IpiMessage* out) const;
    IrqResult from_msi(IpiMessage* out) const;
    IrqResult count(IrqResult r);

    u32 gsi_;
    u64 msi_address_{0};
    u32 msi_data_{0};
    bool msi_enabled_{false};
    u64 sent_{0}, masked_{0}, refused_{0};
};

// The monitor's controllers (irq_controllers.hpp): the IOAPIC at its standard address and
// this CPU's local APIC (x2APIC MSRs or the xAPIC page).
IrqControllers& irq_controllers();

}  // namespace tv
