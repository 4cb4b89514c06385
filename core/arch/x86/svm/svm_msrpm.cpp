#include "core/arch/x86/svm/svm_msrpm.hpp"

#include <string.h>

#include "core/handlers/msr_policy.hpp"

namespace tv::svm {

namespace {

void msrpm_set(u8* msrpm, u32 msr, u32 bits, bool on) {
    u32 bit;
    if (!msrpm_slot(msr, &bit)) return;
    u8 const m = static_cast<u8>(bits << (bit % 8));
    msrpm[bit / 8] = static_cast<u8>(on ? msrpm[bit / 8] | m : msrpm[bit / 8] & ~m);
}

}  // namespace

// Two bits (read, write) per MSR in three 2 KiB ranges.
bool msrpm_slot(u32 msr, u32* bit) {
    u32 base;
    if (msr <= 0x1FFF) base = 0;
    else if (msr >= 0xC0000000 && msr <= 0xC0001FFF) base = 0x800 * 8, msr -= 0xC0000000;
    else if (msr >= 0xC0010000 && msr <= 0xC0011FFF) base = 0x1000 * 8, msr -= 0xC0010000;
    else return false;
    *bit = base + msr * 2;
    return true;
}

// Default-deny: every bit set but those of the policy's direct entries, then the MSRs the
// core claims for itself set again.
void build_msrpm(u8* msrpm, InterceptSet const& set) {
    constexpr u32 kRead = 1, kWrite = 2;
    memset(msrpm, 0xFF, kMsrpmSize);
    size_t n;
    MsrRule const* rules = msr_rules(&n);
    for (size_t i = 0; i < n; ++i) {
        u32 const direct =
            (rules[i].read == MsrRead::Direct ? kRead : 0) | (rules[i].write == MsrWrite::Direct ? kWrite : 0);
        for (u64 m = rules[i].first; direct && m <= rules[i].last; ++m)
            msrpm_set(msrpm, static_cast<u32>(m), direct, false);
    }
    for (size_t i = 0; i < set.msr_count; ++i) msrpm_set(msrpm, set.msrs[i], kRead | kWrite, true);
}

}  // namespace tv::svm
