#include "core/device/ioapic_guard.hpp"

namespace tv {

bool IoApicGuard::dword(IoApicRegisters& hw, u32 off, u32 mask, bool write, u32* value, Refusal* refused) {
    if (off == kSelect) {
        if (write && (mask & 0xFF)) select_ = static_cast<u8>(*value);
        if (!write) *value = select_;
        else hw.write(kSelect, select_);
        return false;
    }
    if (off != kWindow) {  // EOI and the reserved dwords: as the guest asked
        if (!write) *value = hw.read(off);
        else hw.write(off, mask == 0xFFFFFFFF ? *value : (hw.read(off) & ~mask) | (*value & mask));
        return false;
    }
    hw.write(kSelect, select_);
    if (!write) {
        *value = hw.read(kWindow);
        return false;
    }
    u32 v = mask == 0xFFFFFFFF ? *value : (hw.read(kWindow) & ~mask) | (*value & mask);
    bool const low = select_ >= kFirstRedirection && (select_ & 1) == 0;
    bool const refuse = low && !delivery_allowed(delivery_of(v));
    if (refuse) {
        *refused = Refusal{static_cast<u8>((select_ - kFirstRedirection) / 2), delivery_of(v)};
        ++refusals_;
        v = with_fixed_delivery(v) | kMasked;
    }
    hw.write(kWindow, v);
    return refuse;
}

bool IoApicGuard::access(IoApicRegisters& hw, u32 offset, u8 size, bool write, u64* value, Refusal* refused) {
    bool any = false;
    u64 result = 0;
    // Dword by dword: an 8-byte or unaligned access is the dwords it covers.
    for (u32 done = 0; done < size;) {
        u32 const at = offset + done;
        u32 const off = at & ~3u, shift = (at & 3u) * 8;
        u32 const n = (4 - (at & 3u)) < size - done ? 4 - (at & 3u) : size - done;
        u32 const mask = (n == 4 ? 0xFFFFFFFFu : ((1u << (8 * n)) - 1)) << shift;
        u32 v = static_cast<u32>(*value >> (8 * done)) << shift;
        any = dword(hw, off, mask, write, &v, refused) || any;
        if (!write) result |= static_cast<u64>((v & mask) >> shift) << (8 * done);
        done += n;
    }
    if (!write) *value = result;
    return any;
}

}  // namespace tv
