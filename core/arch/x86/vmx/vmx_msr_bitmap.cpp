#include "core/arch/x86/vmx/vmx_msr_bitmap.hpp"

#include <stddef.h>
#include <string.h>

#include "core/handlers/msr_policy.hpp"

namespace tv::vmx {

namespace {

// Where `msr`'s read or write bit lives: a byte of the page and a mask; false outside the
// bitmap's two ranges.
bool locate(u32 m, bool write, size_t* byte, u8* bit) {
    u32 index;
    size_t half;
    if (m <= 0x1FFF) {
        index = m, half = write ? offsetof(MsrBitmap, write_low) : offsetof(MsrBitmap, read_low);
    } else if (m >= 0xC0000000 && m <= 0xC0001FFF) {
        index = m - 0xC0000000, half = write ? offsetof(MsrBitmap, write_high) : offsetof(MsrBitmap, read_high);
    } else {
        return false;
    }
    *byte = half + index / 8;
    *bit = static_cast<u8>(1u << (index % 8));
    return true;
}

void set(MsrBitmap* b, u32 m, bool write, bool on) {
    size_t byte;
    u8 bit;
    if (!locate(m, write, &byte, &bit)) return;
    u8* p = reinterpret_cast<u8*>(b) + byte;
    *p = static_cast<u8>(on ? *p | bit : *p & ~bit);
}

}  // namespace

bool msr_bitmap_exits(MsrBitmap const& b, u32 msr, bool write) {
    size_t byte;
    u8 bit;
    return !locate(msr, write, &byte, &bit) || (reinterpret_cast<u8 const*>(&b)[byte] & bit);
}

// Default-deny: every bit set but those of the policy's direct entries, then the MSRs the
// core claims for itself set again.
void build_msr_bitmap(MsrBitmap* b, InterceptSet const& claimed) {
    memset(b, 0xFF, sizeof *b);
    size_t n;
    MsrRule const* rules = msr_rules(&n);
    for (size_t i = 0; i < n; ++i) {
        for (u64 m = rules[i].first; m <= rules[i].last; ++m) {
            if (rules[i].read == MsrRead::Direct) set(b, static_cast<u32>(m), false, false);
            if (rules[i].write == MsrWrite::Direct) set(b, static_cast<u32>(m), true, false);
        }
    }
    for (size_t i = 0; i < claimed.msr_count; ++i) {
        set(b, claimed.msrs[i], false, true);
        set(b, claimed.msrs[i], true, true);
    }
}

}  // namespace tv::vmx
