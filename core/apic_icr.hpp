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

// One CPU as a destination. ldr/dfr: its xAPIC logical destination and destination format
// registers as the guest last wrote them (the reset values until then: LDR 0, DFR all ones,
// the flat model). x2APIC derives the logical ID from the APIC ID and ignores both.
struct ApicDest {
    static constexpr u32 kDfrFlat = 0xFFFFFFFFu;
    constexpr ApicDest(u32 id, u32 l = 0, u32 d = kDfrFlat) : apic_id(id), ldr(l), dfr(d) {}  // NOLINT: an ID alone is the common case
    u32 apic_id;
    u32 ldr;
    u32 dfr;
};

// Whether `cpu` is a target. self: whether that CPU is the sender. Physical destination 0xFF
// (xAPIC) or 0xFFFFFFFF (x2APIC) is a broadcast. Logical destinations: xAPIC flat (the
// destination is a mask of 8 logical IDs) and cluster (high nibble the cluster, low nibble a
// mask within it; 0xFF every CPU), x2APIC cluster (bits 31:16 the cluster = APIC ID >> 4,
// bits 15:0 a mask of APIC ID & 15; 0xFFFFFFFF every CPU).
bool icr_targets(Icr const& i, ApicDest const& cpu, bool self, bool x2apic);

}  // namespace tv
