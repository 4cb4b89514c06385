#include "core/handlers/phys_edge.hpp"

#include "core/arch/x86/cpu.hpp"
#include "core/nested_paging.hpp"

namespace tv {

u64 phys_end(u32 phys_bits) {
    u64 const cpu = phys_bits >= 64 ? ~0ull : 1ull << phys_bits;
    return cpu < NestedPageTable::kGpaLimit ? cpu : NestedPageTable::kGpaLimit;
}

HighFault classify_high_fault(u64 gpa, bool present, u64 nested_limit, u64 end) {
    if (gpa >= end) return HighFault::NothingThere;
    if (gpa >= nested_limit && !present) return HighFault::MapOnDemand;
    return HighFault::Unexpected;
}

u32 cpu_phys_bits() {
    static u32 bits;  // racing first callers compute the same value
    if (u32 const b = __atomic_load_n(&bits, __ATOMIC_RELAXED)) return b;
    u32 b = 36;  // what a CPU without the leaf has (SDM: CPUID.80000008H absent)
    if (x86::cpuid(0x80000000).eax >= 0x80000008) b = x86::cpuid(0x80000008).eax & 0xFF;
    __atomic_store_n(&bits, b, __ATOMIC_RELAXED);
    return b;
}

}  // namespace tv
