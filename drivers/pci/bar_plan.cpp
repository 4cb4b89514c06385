#include "drivers/pci/bar_plan.hpp"

namespace tv::pci {

namespace {
constexpr u32 kFlags = 0xF;
u32 lo_mask(Bar const& bar) { return static_cast<u32>(~(bar.size - 1)) & ~kFlags; }
u32 hi_mask(Bar const& bar) { return static_cast<u32>(~(bar.size - 1) >> 32); }
u64 base_of(Bar const& bar, BarRegs r) {
    u64 const lo = r.lo & ~u64{kFlags};
    return bar.kind == BarKind::Mem64 ? lo | static_cast<u64>(r.hi) << 32 : lo;
}
}  // namespace

BarWritePlan plan_bar_write(Bar const& bar, BarRegs cur, u64 current_base, u16 reg, u8 size, u32 value) {
    u32 const span = bar.kind == BarKind::Mem64 ? 8 : 4;
    u64 image = cur.lo | static_cast<u64>(cur.hi) << 32;
    u32 const off = u32{reg} - bar.reg;  // wraps (large) when reg is below the BAR
    u32 const shift = (off & 7u) * 8u;
    u64 const mask = (size == 4 ? 0xFFFFFFFFull : size == 2 ? 0xFFFFull : 0xFFull) << shift;
    if (reg >= bar.reg && off + size <= span) image = (image & ~mask) | ((u64{value} << shift) & mask);
    bool const upper = off >= 4 && off < 8;
    u32 const lo = static_cast<u32>(image), hi = bar.kind == BarKind::Mem64 ? static_cast<u32>(image >> 32) : 0;
    BarRegs const regs{(lo & lo_mask(bar)) | (cur.lo & kFlags), hi & hi_mask(bar)};
    BarWritePlan p{BarWriteKind::Same, regs, base_of(bar, regs), upper};
    bool const sizing_lo = lo_mask(bar) != 0 && (lo & lo_mask(bar)) == lo_mask(bar);
    if (upper ? hi == 0xFFFFFFFF : sizing_lo) p.kind = BarWriteKind::Sizing;
    else if (p.base == current_base) p.kind = BarWriteKind::Same;
    else if (p.base == 0) p.kind = BarWriteKind::Unplaced;
    else p.kind = BarWriteKind::Move;
    return p;
}

u32 bar_sizing_answer(Bar const& bar, BarRegs cur, u16 reg) {
    if (bar.kind == BarKind::Mem64 && (reg & ~3u) == u32{bar.reg} + 4u) return hi_mask(bar);
    return lo_mask(bar) | (cur.lo & kFlags);
}

}  // namespace tv::pci
