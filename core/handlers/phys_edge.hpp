// The edge of the guest-physical address space. A nested fault above the identity-mapped
// range is device memory placed high (mapped on first touch) unless the address lies beyond
// what the CPU can address (MAXPHYADDR) or what four-level nested tables translate (2^48);
// there nothing decodes it, and the guest gets what a bus gives for such an address: reads
// float high (all ones), writes go nowhere. Pure classification, host-tested.
#pragma once

#include "core/types.hpp"

namespace tv {

enum class HighFault : u8 {
    NothingThere,  // beyond the physical address space: emulate as floating bus
    MapOnDemand,   // high device memory: map it 1:1 and retry
    Unexpected,    // a fault the monitor has no rule for (a monitor bug): fatal
};

// The first guest-physical address nothing can decode, for a CPU with phys_bits of address.
u64 phys_end(u32 phys_bits);
HighFault classify_high_fault(u64 gpa, bool present, u64 nested_limit, u64 end);

// MAXPHYADDR of the CPU the monitor runs on (CPUID 0x80000008), and its phys_end().
u32 cpu_phys_bits();
inline u64 cpu_phys_end() { return phys_end(cpu_phys_bits()); }
inline bool beyond_physical(u64 gpa) { return gpa >= cpu_phys_end(); }

}  // namespace tv
