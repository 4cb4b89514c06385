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

namespace {

bool x2apic_logical_match(u32 dest, u32 apic_id) {
    if (dest == 0xFFFFFFFFu) return true;
    return (dest >> 16) == (apic_id >> 4) && (dest & (1u << (apic_id & 0xF)));
}

bool xapic_logical_match(u32 dest, ApicDest const& cpu) {
    constexpr u32 kModelFlat = 0xF, kModelCluster = 0x0;
    u32 const mask = dest & 0xFF;
    if (mask == 0xFF) return true;
    u32 const id = cpu.ldr >> 24;
    switch (cpu.dfr >> 28) {
        case kModelFlat: return (mask & id) != 0;
        case kModelCluster: return (mask >> 4) == (id >> 4) && (mask & id & 0xF) != 0;
        default: return false;  // a reserved model: no CPU accepts the message
    }
}

}  // namespace

bool icr_targets(Icr const& i, ApicDest const& cpu, bool self, bool x2apic) {
    switch (i.shorthand) {
        case IcrShorthand::Self: return self;
        case IcrShorthand::AllIncludingSelf: return true;
        case IcrShorthand::AllExcludingSelf: return !self;
        case IcrShorthand::None: break;
    }
    if (i.logical) return x2apic ? x2apic_logical_match(i.dest, cpu.apic_id) : xapic_logical_match(i.dest, cpu);
    u32 const broadcast = x2apic ? 0xFFFFFFFFu : 0xFFu;
    return i.dest == broadcast || i.dest == cpu.apic_id;
}

}  // namespace tv
