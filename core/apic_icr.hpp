// The local APIC's interrupt command register, decoded: the guest's INIT and SIPI go through
// it, and the monitor must see them before the hardware does (a real INIT would reset a CPU
// that is running the monitor). Pure, host-tested.
#pragma once

#include "core/types.hpp"

namespace tv {

enum class IcrDelivery : u8 { Fixed, LowestPriority, Smi, Reserved3, Nmi, Init, StartUp, Reserved7 };
enum class IcrShorthand : u8 { None, Self, AllIncludingSelf, AllExcludingSelf };

struct Icr {
    u8 vector;
    IcrDelivery delivery;
    bool logical;   // destination mode: logical (LDR match) instead of physical APIC ID
    bool assert_;   // level: assert (1) or de-assert (0)
    bool level;     // trigger mode: level (1) or edge (0)
    IcrShorthand shorthand;
    u32 dest;       // APIC ID (physical) or logical mask
};

// xAPIC: ICR low (offset 0x300) and high (0x310); destination in high bits 31:24.
Icr icr_decode_xapic(u32 low, u32 high);
// x2APIC: MSR 0x830, one 64-bit write; destination in bits 63:32.
Icr icr_decode_x2apic(u64 value);

// INIT/SIPI handling only; everything else goes to the hardware as the guest wrote it.
inline bool icr_is_start_signal(Icr const& i) {
    return i.delivery == IcrDelivery::Init || i.delivery == IcrDelivery::StartUp;
}
// The level-triggered INIT de-assert older start-up code sends after INIT: no effect on the
// target (it only resynchronises arbitration IDs on pre-Pentium-4 parts).
inline bool icr_is_init_deassert(Icr const& i) {
    return i.delivery == IcrDelivery::Init && i.level && !i.assert_;
}

// Whether a CPU with `apic_id` is a target. self: whether that CPU is the sender.
// Physical destination 0xFF (xAPIC) or 0xFFFFFFFF (x2APIC) is a broadcast. Logical
// destinations are not resolved (the monitor would need every CPU's LDR): false.
bool icr_targets(Icr const& i, u32 apic_id, bool self, bool x2apic);

}  // namespace tv
