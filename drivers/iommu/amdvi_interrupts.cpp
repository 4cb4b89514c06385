#include "drivers/iommu/amdvi_interrupts.hpp"

#include "drivers/iommu/amdvi_tables.hpp"

namespace tv::iommu {

namespace {

constexpr u64 kIntTabLenShift = 1, kRootMask = 0x000FFFFFFFFFFFC0ull, kIntCtlMask = 3ull << 60;
constexpr u32 kRemapEn = 1u << 0, kTypeShift = 2, kDmBit = 1u << 6, kDestShift = 8, kVectorShift = 16;
constexpr u64 kWindowMask = 0xFFF00000ull, kWindow = 0xFEE00000ull;
constexpr u32 kFixed = 0, kLowest = 1, kNmi = 4, kInit = 5, kExtInt = 7;

bool entry(u8 vector, u32 type, bool logical, u8 dest, IrtEntry* out) {
    if (type != kFixed && type != kLowest) return false;
    *out = IrtEntry{type << 8 | vector,
                    kRemapEn | type << kTypeShift | (logical ? kDmBit : 0) | u32{dest} << kDestShift |
                        u32{vector} << kVectorShift};
    return true;
}

}  // namespace

u64 amdvi_dte_interrupts(u64 table) {
    return kDteIv | u64{kIrtLog2} << kIntTabLenShift | (table & kRootMask) | kDteIntCtlRemap | kDteEintPass |
           kDteNmiPass | kDteLint0Pass | kDteLint1Pass;
}

bool amdvi_irte_for_msi(u64 address, u32 data, IrtEntry* out) {
    if ((address & ~u64{0xFFFFFFFF}) || (address & kWindowMask) != kWindow) return false;
    return entry(static_cast<u8>(data), (data >> 8) & 7, (address >> 2) & 1, static_cast<u8>(address >> 12), out);
}

bool amdvi_irte_for_ioapic(u64 rte, IrtEntry* out) {
    return entry(static_cast<u8>(rte), (rte >> 8) & 7, (rte >> 11) & 1, static_cast<u8>(rte >> 56), out);
}

namespace {

// Folds the entries with `index` into one (amdvi_irte_for_ioapic_pins says how).
struct Union {
    bool found = false, agree = true, all_logical = true;
    u8 dests = 0;
    IrtEntry first{};

    void add(IrtEntry e, u32 index) {
        if (!e.value || e.index != index) return;
        if (found && e.value != first.value) agree = false;
        if (!found) first = e;
        found = true;
        all_logical = all_logical && (e.value & kDmBit);
        dests = static_cast<u8>(dests | (e.value >> kDestShift));
    }
    bool result(u32 index, IrtEntry* out) const {
        if (!found) return false;
        if (agree) return *out = first, true;
        return entry(static_cast<u8>(index), kFixed, all_logical, all_logical ? dests : 0xFF, out) &&
               (out->index = index, true);
    }
};

}  // namespace

bool amdvi_irte_for_ioapic_pins(u64 const* rtes, u32 n, u32 index, IrtEntry* out) {
    constexpr u64 kMasked = 1ull << 16;
    Union u;
    for (u32 pin = 0; pin < n; ++pin) {
        IrtEntry e{};
        if (!(rtes[pin] & kMasked) && amdvi_irte_for_ioapic(rtes[pin], &e)) u.add(e, index);
    }
    return u.result(index, out);
}

bool amdvi_irte_union(IrtEntry const* slots, u32 n, u32 index, IrtEntry* out) {
    Union u;
    for (u32 i = 0; i < n; ++i) u.add(slots[i], index);
    return u.result(index, out);
}

bool amdvi_remap(u64 q2, u32 const* table, u32 data, Delivered* out) {
    u32 const type = (data >> 8) & 7;
    if (!(q2 & kDteIv)) return *out = Delivered{static_cast<u8>(data), static_cast<u8>(type), 0, false}, true;
    switch (type) {
        case kFixed: case kLowest: break;
        case kNmi: case kInit: case kExtInt: {
            u64 const pass = type == kNmi ? kDteNmiPass : type == kInit ? kDteInitPass : kDteEintPass;
            *out = Delivered{static_cast<u8>(data), static_cast<u8>(type), 0, false};
            return (q2 & pass) != 0;
        }
        default: return false;  // SMI and the reserved modes (QEMU 7.2 drops them)
    }
    if ((q2 & kIntCtlMask) != kDteIntCtlRemap || !table) return false;
    u32 const e = table[data & (kIrtEntries - 1)];
    if (!(e & kRemapEn) || ((e >> kTypeShift) & 7) > kLowest) return false;
    *out = Delivered{static_cast<u8>(e >> kVectorShift), static_cast<u8>((e >> kTypeShift) & 7),
                     static_cast<u8>(e >> kDestShift), (e & kDmBit) != 0};
    return true;
}

}  // namespace tv::iommu
