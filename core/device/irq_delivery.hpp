// Delivery modes an interrupt source may carry: bits 10:8 of an IOAPIC redirection entry's
// low dword and of an MSI data register mean the same. The guest programs both sources, and
// on AMD-V an INIT they deliver is not intercepted: it resets the CPU out of SVM (QEMU 7.2
// resets it even after the INIT exit). So the monitor lets the guest program only the modes
// a guest legitimately needs (issue 12 item 6, docs/security.md "INIT and SMI from interrupt
// sources"):
//   - Fixed and Lowest priority: every device interrupt.
//   - NMI: watchdogs; the monitor intercepts NMIs and hands the guest its own (core/smp.cpp).
//   - ExtINT: the 8259 behind an IOAPIC pin (Linux's "virtual wire" timer fallback).
// Refused: INIT (a CPU reset), SMI (System Management Mode is the firmware's, outside the
// monitor), and the two reserved encodings.
#pragma once

#include "core/types.hpp"

namespace tv {

enum class Delivery : u8 { Fixed = 0, Lowest = 1, Smi = 2, Reserved3 = 3, Nmi = 4, Init = 5, Reserved6 = 6, ExtInt = 7 };

inline constexpr u32 kDeliveryShift = 8;
inline constexpr u32 kDeliveryMask = 7u << kDeliveryShift;

constexpr Delivery delivery_of(u32 v) { return static_cast<Delivery>((v & kDeliveryMask) >> kDeliveryShift); }
constexpr bool delivery_allowed(Delivery d) {
    return d == Delivery::Fixed || d == Delivery::Lowest || d == Delivery::Nmi || d == Delivery::ExtInt;
}
constexpr u32 with_fixed_delivery(u32 v) { return v & ~kDeliveryMask; }
constexpr char const* delivery_name(Delivery d) {
    constexpr char const* kNames[] = {"fixed", "lowest", "SMI", "reserved(3)", "NMI", "INIT", "reserved(6)", "ExtINT"};
    return kNames[static_cast<u8>(d) & 7];
}

}  // namespace tv
