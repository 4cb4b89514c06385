// PCI as the monitor sees it: function addresses, configuration mechanism #1 addresses,
// BARs, and the enumeration of every function with its BARs sized. Pure: configuration
// space is reached through ConfigSpace (ports CF8/CFC in the monitor, a fake in tests).
#pragma once

#include <stddef.h>

#include "core/types.hpp"

namespace tv::pci {

struct Bdf {
    u8 bus, dev, fn;  // dev < 32, fn < 8
    constexpr bool operator==(Bdf const&) const = default;
};

// Configuration mechanism #1: the dword written to port CF8. Bit 31 enables, bits 23:8 are
// bus/device/function, 7:2 the dword register; AMD CPUs also take register bits 11:8 from
// bits 27:24 (extended configuration space through the ports).
constexpr u32 kConfigEnable = 1u << 31;
constexpr u32 config_address(Bdf b, u16 reg) {
    return kConfigEnable | static_cast<u32>(reg & 0xF00) << 16 | static_cast<u32>(b.bus) << 16 |
           static_cast<u32>(b.dev & 31) << 11 | static_cast<u32>(b.fn & 7) << 8 | (reg & 0xFCu);
}

struct ConfigAccess {
    bool enabled;
    Bdf bdf;
    u16 reg;  // byte offset in the function's configuration space
};
// What an access to data port `port` (CFC-CFF) reaches, given the guest's CF8 value.
constexpr ConfigAccess decode_config_address(u32 cf8, u16 port) {
    return ConfigAccess{(cf8 & kConfigEnable) != 0,
                        Bdf{static_cast<u8>(cf8 >> 16), static_cast<u8>((cf8 >> 11) & 31), static_cast<u8>((cf8 >> 8) & 7)},
                        static_cast<u16>(((cf8 >> 16) & 0xF00) | (cf8 & 0xFC) | (port & 3))};
}

// The memory-mapped configuration space (PCIe ECAM, from ACPI's MCFG) of segment 0: the
// 4 KiB of function b at base + (bus << 20 | dev << 15 | fn << 12), for buses start..end.
struct EcamWindow {
    u64 base;
    u8 start_bus, end_bus;
};
constexpr u64 ecam_page(EcamWindow w, Bdf b) {
    return w.base + (static_cast<u64>(b.bus) << 20 | static_cast<u64>(b.dev & 31) << 15 | static_cast<u64>(b.fn & 7) << 12);
}
// The function and register a guest-physical address in the window reaches; false outside it.
constexpr bool ecam_decode(EcamWindow w, u64 gpa, Bdf* b, u16* reg) {
    u64 const first = w.base + (static_cast<u64>(w.start_bus) << 20);
    u64 const end = w.base + (static_cast<u64>(w.end_bus) + 1) * (1ull << 20);
    if (gpa < first || gpa >= end) return false;
    u64 const off = gpa - w.base;
    *b = Bdf{static_cast<u8>(off >> 20), static_cast<u8>((off >> 15) & 31), static_cast<u8>((off >> 12) & 7)};
    *reg = static_cast<u16>(off & 0xFFF);
    return true;
}

// Dword access to configuration space.
class ConfigSpace {
  public:
    virtual u32 read32(Bdf b, u16 reg) = 0;
    virtual void write32(Bdf b, u16 reg, u32 value) = 0;

  protected:
    ~ConfigSpace() = default;
};

// Standard header registers.
inline constexpr u16 kRegVendor = 0x00;
inline constexpr u16 kRegCommand = 0x04;
inline constexpr u16 kRegClass = 0x08;    // revision, prog-if, subclass, class
inline constexpr u16 kRegHeader = 0x0C;   // header type in bits 23:16
inline constexpr u16 kRegBar0 = 0x10;
inline constexpr u16 kCommandIo = 1u << 0;
inline constexpr u16 kCommandMemory = 1u << 1;

enum class BarKind : u8 { None, Io, Mem32, Mem64 };

struct Bar {
    BarKind kind;
    bool prefetchable;
    u64 base;
    u64 size;
    u16 reg;  // the register holding it (and reg + 4 for the upper half of Mem64)
};

struct Function {
    Bdf bdf;
    u16 vendor, device;
    u8 class_code, subclass, prog_if;
    u8 header_type;  // without the multi-function bit
    u8 bar_count;    // BAR registers the header type has (6, 2 or 0)
    Bar bars[6];     // bars[i] for register 0x10 + 4i; the upper half of a Mem64 is None
};

// Decodes a BAR from its value and what it read back after all ones were written (hi/hi_ones
// only for a 64-bit memory BAR). A BAR that reads back zero is not implemented.
Bar decode_bar(u16 reg, u32 value, u32 ones, u32 hi_value, u32 hi_ones);

// Every function on every bus, with BARs sized the standard way: decoding turned off in the
// command register (host bridges excepted), all ones written, the answer read, the original
// value restored, then the command register restored. Must run before the guest does.
// NoMemory (with *count = max) when more than `max` functions exist.
[[nodiscard]] Status enumerate(ConfigSpace& cs, Function* out, size_t max, size_t* count);

// After the guest wrote a BAR: lo/hi are the BAR's registers as they now read. False while
// the BAR holds a sizing pattern (all address bits set) or zero (unassigned), or has not
// moved; otherwise true with the new base.
[[nodiscard]] bool bar_moved(Bar const& bar, u64 current_base, u32 lo, u32 hi, u64* new_base);

}  // namespace tv::pci
