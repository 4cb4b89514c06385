// The bus-master policy for PCI functions no mediator owns (issue 12 item 3, docs/security.md
// "DMA by devices the monitor does not mediate"). Without an IOMMU nothing stops such a
// device's DMA from reaching the monitor's memory, so it does not get to do DMA: its Bus
// Master Enable bit is cleared when the monitor starts, and every guest write to its command
// register goes through with that bit cleared (a read shows what the device holds), unless
// thinvisor.conf's [pci] allow_dma names the function. Pure: the monitor glue is
// bus_master_policy.cpp.
#pragma once

#include "core/config.hpp"
#include "drivers/pci/config_hooks.hpp"

namespace tv::pci {

inline constexpr u16 kCommandBusMaster = 1u << 2;

// Whether the policy covers f. Host bridges and PCI-to-PCI bridges are left out: a bridge's
// bit only forwards its secondary side's DMA, and each function behind it is covered itself.
bool bus_master_policed(Function const& f);
// Whether [pci] allow_dma names f (by address or by vendor:device).
bool dma_allowed(Function const& f, PciDmaAllow const* allow, u32 count);
// A configuration write of `size` bytes at `reg` holding *value: clears the Bus Master Enable
// bit if the write covers it. True when the guest had set it (the write is then refused in part).
bool strip_bus_master(u16 reg, u8 size, u32* value);

// The configuration hook on one policed function's command register (ctx: its gate).
struct BusMasterGate {
    Bdf bdf;
    u64 refusals;
    void (*on_refusal)(BusMasterGate& g);  // the first refusal and every 1024th are logged; may be null
};
ConfigAction bus_master_gate(void* ctx, Vcpu& v, Bdf b, u16 reg, u8 size, bool write, u32* value);

}  // namespace tv::pci
