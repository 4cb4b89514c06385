// The monitor's instance of the guest-memory rule.
#include "core/arch/x86/cpu.hpp"
#include "core/device/guest_memory.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"

namespace tv {

namespace {
constinit GuestMemory g_guest_memory;
}

Status guest_memory_init(MemoryMap const& firmware_map) {
    MonitorRegion const& r = monitor_region();
    u8 const width = static_cast<u8>(x86::cpuid(0x80000008).eax & 0xFF);
    Status const s = g_guest_memory.init(firmware_map, r.base, r.size, width, static_cast<u8*>(phys_to_virt(0)));
    if (!ok(s)) return s;
    log("guest memory: %u ranges of RAM, %u-bit physical addresses", static_cast<unsigned>(g_guest_memory.range_count()),
        width);
    u64 base, end;
    for (size_t i = 0; i < 16 && g_guest_memory.range(i, &base, &end); ++i)
        log("guest memory: RAM %#llx-%#llx", static_cast<unsigned long long>(base), static_cast<unsigned long long>(end - 1));
    return s;
}

GuestMemory const& guest_memory() { return g_guest_memory; }

}  // namespace tv
