#include "core/apic_icr.hpp"

namespace tv {

namespace {
Icr decode_low(u32 low) {
    Icr i{};
    i.vector = static_cast<u8>(low & 0xFF);
    i.delivery = static_cast<IcrDelivery>((low >> 8) & 7);
    i.logical = (low >> 11) & 1;
    i.assert_ = (low >> 14) & 1;
    i.level = (low >> 15) & 1;
    i.shorthand = static_cast<IcrShorthand>((low >> 18) & 3);
    return i;
}
}  // namespace

Icr icr_decode_xapic(u32 low, u32 high) {
    Icr i = decode_low(low);
    i.dest = high >> 24;
    return i;
}

Icr icr_decode_x2apic(u64 value) {
    Icr i = decode_low(static_cast<u32>(value));
    i.dest = static_cast<u32>(value >> 32);
    return i;
}

bool icr_targets(Icr const& i, u32 apic_id, bool self, bool x2apic) {
    switch (i.shorthand) {
        case IcrShorthand::Self: return self;
        case IcrShorthand::AllIncludingSelf: return true;
        case IcrShorthand::AllExcludingSelf: return !self;
        case IcrShorthand::None: break;
    }
    if (i.logical) return false;
    u32 const broadcast = x2apic ? 0xFFFFFFFFu : 0xFFu;
    return i.dest == broadcast || i.dest == apic_id;
}

}  // namespace tv
