#include "core/device/irq_line.hpp"

namespace tv {

namespace {

constexpr u8 kFirstVector = 0x20;  // 0-31 are the CPU's exceptions
constexpr u32 kEntryMasked = 1u << 16;
constexpr u64 kMsiAddressMask = 0xFFF00000ull, kMsiAddressBase = 0xFEE00000ull;
constexpr u64 kMsiLogical = 1ull << 2;
constexpr u32 kDeliveryFixed = 0, kDeliveryLowest = 1;

}  // namespace

IrqResult IrqLine::from_ioapic(IrqControllers& hw, IpiMessage* out) const {
    u32 const lo = hw.ioapic_entry_low(gsi_);
    if (lo & kEntryMasked) return IrqResult::Masked;
    u8 const vector = static_cast<u8>(lo);
    if (vector < kFirstVector) return IrqResult::Refused;
    *out = IpiMessage{vector, true, false, false, 0};
    return IrqResult::Sent;
}

IrqResult IrqLine::from_msi(IpiMessage* out) const {
    if (!msi_enabled_) return IrqResult::Masked;
    if ((msi_address_ & kMsiAddressMask) != kMsiAddressBase) return IrqResult::Refused;  // not an interrupt message
    u32 const delivery = (msi_data_ >> 8) & 7;
    u8 const vector = static_cast<u8>(msi_data_);
    if ((delivery != kDeliveryFixed && delivery != kDeliveryLowest) || vector < kFirstVector) return IrqResult::Refused;
    *out = IpiMessage{vector, false, (msi_address_ & kMsiLogical) != 0, delivery == kDeliveryLowest,
                      static_cast<u32>((msi_address_ >> 12) & 0xFF)};
    return IrqResult::Sent;
}

IrqResult IrqLine::count(IrqResult r) {
    u64* c = r == IrqResult::Sent ? &sent_ : r == IrqResult::Masked ? &masked_ : &refused_;
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
    return r;
}

IrqResult IrqLine::raise(IrqControllers& hw) {
    IpiMessage m{};
    IrqResult const r = gsi_ == kNoGsi ? from_msi(&m) : from_ioapic(hw, &m);
    if (r != IrqResult::Sent) return count(r);
    return count(hw.send_ipi(m) ? IrqResult::Sent : IrqResult::Refused);
}

IrqCounters IrqLine::counters() const {
    return IrqCounters{__atomic_load_n(&sent_, __ATOMIC_RELAXED), __atomic_load_n(&masked_, __ATOMIC_RELAXED),
                       __atomic_load_n(&refused_, __ATOMIC_RELAXED)};
}

}  // namespace tv
