#include "drivers/pci/bus_master.hpp"

namespace tv::pci {

namespace {
constexpr u8 kClassBridge = 0x06, kSubclassHost = 0x00, kSubclassPciBridge = 0x04, kSubclassSubtractive = 0x09;
}  // namespace

bool bus_master_policed(Function const& f) {
    if (f.class_code != kClassBridge) return true;
    return f.subclass != kSubclassHost && f.subclass != kSubclassPciBridge && f.subclass != kSubclassSubtractive;
}

bool dma_allowed(Function const& f, PciDmaAllow const* allow, u32 count) {
    for (u32 i = 0; i < count; ++i) {
        PciDmaAllow const& a = allow[i];
        if (a.by_id ? a.vendor == f.vendor && a.device == f.device : Bdf{a.bus, a.dev, a.fn} == f.bdf) return true;
    }
    return false;
}

bool strip_bus_master(u16 reg, u8 size, u32* value) {
    if (reg > kRegCommand || reg + u32{size} <= kRegCommand) return false;  // the bit is in byte 0x04
    u32 const bit = u32{kCommandBusMaster} << (8 * (kRegCommand - reg));
    bool const set = (*value & bit) != 0;
    *value &= ~bit;
    return set;
}

ConfigAction bus_master_gate(void* ctx, Vcpu&, Bdf, u16 reg, u8 size, bool write, u32* value) {
    auto& g = *static_cast<BusMasterGate*>(ctx);
    if (write && strip_bus_master(reg, size, value)) {
        u64 const n = __atomic_add_fetch(&g.refusals, 1, __ATOMIC_RELAXED);
        if (g.on_refusal && (n == 1 || n % 1024 == 0)) g.on_refusal(g);
    }
    return ConfigAction::PassThrough;
}

}  // namespace tv::pci
