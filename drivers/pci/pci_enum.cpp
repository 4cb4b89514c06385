#include "drivers/pci/pci.hpp"

namespace tv::pci {

namespace {

constexpr u8 kClassBridge = 0x06, kSubclassHost = 0x00;
constexpr u8 kMultiFunction = 0x80;

u64 mem_mask(Bar const& b) { return b.kind == BarKind::Io ? ~u64{3} : ~u64{0xF}; }

// Sizes and decodes the BAR at `reg`; returns how many registers it used (2 for Mem64).
unsigned size_bar(ConfigSpace& cs, Bdf f, u16 reg, bool last, Bar* out) {
    u32 const value = cs.read32(f, reg);
    cs.write32(f, reg, 0xFFFFFFFF);
    u32 const ones = cs.read32(f, reg);
    cs.write32(f, reg, value);
    u32 hi_value = 0, hi_ones = 0;
    bool const mem64 = (value & 1) == 0 && ((value >> 1) & 3) == 2 && !last;
    if (mem64) {
        hi_value = cs.read32(f, static_cast<u16>(reg + 4));
        cs.write32(f, static_cast<u16>(reg + 4), 0xFFFFFFFF);
        hi_ones = cs.read32(f, static_cast<u16>(reg + 4));
        cs.write32(f, static_cast<u16>(reg + 4), hi_value);
    }
    *out = decode_bar(reg, value, ones, hi_value, hi_ones);
    return out->kind == BarKind::Mem64 ? 2 : 1;
}

void size_bars(ConfigSpace& cs, Function& fn) {
    bool const host_bridge = fn.class_code == kClassBridge && fn.subclass == kSubclassHost;
    u32 const command = cs.read32(fn.bdf, kRegCommand) & 0xFFFF;  // status bits stay 0: they are write-1-to-clear
    if (!host_bridge) cs.write32(fn.bdf, kRegCommand, command & ~u32{kCommandIo | kCommandMemory});
    for (u8 i = 0; i < fn.bar_count;) {
        u16 const reg = static_cast<u16>(kRegBar0 + 4 * i);
        unsigned const used = size_bar(cs, fn.bdf, reg, i + 1 == fn.bar_count, &fn.bars[i]);
        if (used == 2) fn.bars[i + 1] = Bar{BarKind::None, false, 0, 0, static_cast<u16>(reg + 4)};
        i = static_cast<u8>(i + used);
    }
    if (!host_bridge) cs.write32(fn.bdf, kRegCommand, command);
}

Function read_function(ConfigSpace& cs, Bdf b, u32 id) {
    Function fn{};
    fn.bdf = b;
    fn.vendor = static_cast<u16>(id);
    fn.device = static_cast<u16>(id >> 16);
    u32 const cls = cs.read32(b, kRegClass);
    fn.class_code = static_cast<u8>(cls >> 24);
    fn.subclass = static_cast<u8>(cls >> 16);
    fn.prog_if = static_cast<u8>(cls >> 8);
    fn.header_type = static_cast<u8>((cs.read32(b, kRegHeader) >> 16) & 0x7F);
    fn.bar_count = fn.header_type == 0 ? 6 : fn.header_type == 1 ? 2 : 0;
    size_bars(cs, fn);
    return fn;
}

}  // namespace

Bar decode_bar(u16 reg, u32 value, u32 ones, u32 hi_value, u32 hi_ones) {
    Bar b{BarKind::None, false, 0, 0, reg};
    if (ones == 0) return b;
    if (value & 1) {
        b.kind = BarKind::Io;
        // Some devices implement only the low 16 bits of an I/O BAR.
        u32 const mask = (ones & ~u32{3}) | (ones >> 16 == 0 ? 0xFFFF0000u : 0);
        b.size = (~mask + 1) & 0xFFFFFFFFull;
        b.base = value & mem_mask(b);
        return b;
    }
    b.prefetchable = (value & 8) != 0;
    b.kind = ((value >> 1) & 3) == 2 ? BarKind::Mem64 : BarKind::Mem32;
    u64 mask = ones & ~u64{0xF};
    u64 base = value & ~u64{0xF};
    if (b.kind == BarKind::Mem64) {
        mask |= static_cast<u64>(hi_ones) << 32;
        base |= static_cast<u64>(hi_value) << 32;
    } else {
        mask |= 0xFFFFFFFF00000000ull;
    }
    b.size = ~mask + 1;
    b.base = base;
    return b;
}

Status enumerate(ConfigSpace& cs, Function* out, size_t max, size_t* count) {
    *count = 0;
    for (u32 bus = 0; bus < 256; ++bus)
        for (u8 dev = 0; dev < 32; ++dev) {
            Bdf const f0{static_cast<u8>(bus), dev, 0};
            u32 const id0 = cs.read32(f0, kRegVendor);
            if ((id0 & 0xFFFF) == 0xFFFF) continue;
            bool const multi = (cs.read32(f0, kRegHeader) >> 16) & kMultiFunction;
            for (u8 fn = 0; fn < (multi ? 8 : 1); ++fn) {
                Bdf const b{static_cast<u8>(bus), dev, fn};
                u32 const id = fn == 0 ? id0 : cs.read32(b, kRegVendor);
                if ((id & 0xFFFF) == 0xFFFF) continue;
                if (*count == max) return Status::NoMemory;
                out[(*count)++] = read_function(cs, b, id);
            }
        }
    return Status::Ok;
}

bool bar_moved(Bar const& bar, u64 current_base, u32 lo, u32 hi, u64* new_base) {
    if (bar.kind != BarKind::Mem32 && bar.kind != BarKind::Mem64) return false;
    u64 const mask = ~(bar.size - 1);
    u64 base = lo & ~u64{0xF};
    if (bar.kind == BarKind::Mem64) {
        if (hi == 0xFFFFFFFF) return false;  // the upper half is being sized
        base |= static_cast<u64>(hi) << 32;
    }
    u32 const lo_mask = static_cast<u32>(mask) & 0xFFFFFFF0u;  // 0 for BARs of 4 GiB or more
    if (lo_mask != 0 && (lo & lo_mask) == lo_mask) return false;  // the lower half is being sized
    if (base == 0 || base == current_base) return false;
    *new_base = base;
    return true;
}

}  // namespace tv::pci
