#include "drivers/pci/msi_guard.hpp"

namespace tv::pci {

namespace {
constexpr u16 kRegStatus = 0x06, kRegCapPtr = 0x34;
constexpr u32 kStatusCapList = 1u << 4;
constexpr u16 kHeaderEnd = 0x40;
constexpr u32 kMaxLinks = 48;  // (256 - 64) / 4: a longer chain loops
}  // namespace

u16 find_capability(ConfigSpace& cs, Bdf b, u8 id) {
    if (!((cs.read32(b, kRegCommand) >> 16) & kStatusCapList)) return 0;
    static_assert(kRegStatus == kRegCommand + 2);
    u16 at = static_cast<u16>(cs.read32(b, kRegCapPtr) & 0xFC);
    for (u32 i = 0; i < kMaxLinks && at >= kHeaderEnd; ++i) {
        u32 const head = cs.read32(b, at);
        if ((head & 0xFF) == id) return at;
        at = static_cast<u16>((head >> 8) & 0xFC);
    }
    return 0;
}

bool strip_msi_delivery(u16 data_reg, u16 reg, u8 size, u32* value, Delivery* mode) {
    u16 const byte = static_cast<u16>(data_reg + 1);  // bits 15:8 of the data: the mode in 10:8
    if (reg > byte || reg + u32{size} <= byte) return false;
    u32 const shift = 8 * (byte - reg);
    Delivery const d = delivery_of((*value >> shift) << kDeliveryShift);
    if (delivery_allowed(d)) return false;
    *value &= ~(7u << shift);
    *mode = d;
    return true;
}

bool strip_msix_delivery(u64 table, u64 len, u64 off, u8 size, u64* value, Delivery* mode) {
    constexpr u64 kEntry = 16, kModeByte = 9;  // data at +8; its bits 10:8 in byte +9
    bool refused = false;
    for (u8 i = 0; i < size && i < 8; ++i) {
        u64 const at = off + i;
        if (at < table || at - table >= len || (at - table) % kEntry != kModeByte) continue;
        Delivery const d = delivery_of(static_cast<u32>((*value >> (8 * i)) & 0xFF) << kDeliveryShift);
        if (delivery_allowed(d)) continue;
        *value &= ~(u64{7} << (8 * i));
        *mode = d;
        refused = true;
    }
    return refused;
}

ConfigAction msi_gate(void* ctx, Vcpu&, Bdf, u16 reg, u8 size, bool write, u32* value) {
    auto& g = *static_cast<MsiGate*>(ctx);
    Delivery mode{};
    if (write && strip_msi_delivery(g.data_reg, reg, size, value, &mode)) {
        ++g.refusals;
        if (g.on_refusal) g.on_refusal(g, mode);
    }
    if (write && g.on_write) g.on_write(g, reg, size, *value);
    return ConfigAction::PassThrough;
}

}  // namespace tv::pci
