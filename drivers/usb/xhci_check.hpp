// The checks every copied TRB passes before the shadow ring holds it: what a TRB of each type
// may make the controller read or write, against the guest-memory rule.
//
// Transfer rings: Normal, Data Stage and Isoch TRBs name a buffer of at most 64 KiB that must
// be guest memory whole, unless they carry immediate data (IDT: at most 8 bytes in the TRB
// itself); a Setup Stage carries its 8-byte request as immediate data, always; Status Stage,
// Event Data (an opaque value the controller hands back in an event) and No Op name no memory.
// Every other type, command and event types included, is refused on a transfer ring, and so
// is an interrupter target the mediator does not shadow.
//
// Command ring: the commands a driver needs to run devices; each command's pointer, where it
// has one, is checked (an input context, a transfer ring's new dequeue pointer). Force Event,
// Force Header and the extended-property commands (a virtualization and a test feature) and
// Get Port Bandwidth (the controller writes a context wherever it points) are refused.
#pragma once

#include "drivers/usb/xhci_ring.hpp"

namespace tv::usb {

struct TrbLimits {
    u32 interrupters{1};  // interrupter targets the mediator shadows: [0, interrupters)
    u8 max_slots{0};      // device slots enabled (CONFIG.MaxSlotsEn): slot IDs [1, max_slots]
    u64 input_context_bytes{33 * 32};  // an input context's size (CSZ: 33 x 32 or 33 x 64 bytes)
};

// nullptr when the TRB may go to the shadow transfer ring, else why not.
[[nodiscard]] char const* check_transfer_trb(GuestView const& g, Trb const& t, TrbLimits const& lim);

// What a command needs of the mediator beyond its checks.
enum class CommandKind : u8 {
    Plain,         // nothing: copied as it is
    InputContext,  // param points at an input context the mediator shadows
    Dequeue,       // Set TR Dequeue Pointer: param is a guest transfer ring position
};

struct CommandCheck {
    char const* why{nullptr};  // nullptr: accepted
    CommandKind kind{CommandKind::Plain};
};

[[nodiscard]] CommandCheck check_command_trb(GuestView const& g, Trb const& t, TrbLimits const& lim);

}  // namespace tv::usb
