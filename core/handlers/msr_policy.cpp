#include "core/handlers/msr_policy.hpp"

namespace tv {

namespace {

using R = MsrRead;
using W = MsrWrite;

// Ascending, no overlaps (test_msr_policy checks both). docs/security.md gives the reason
// for each line; the short one is here.
constexpr MsrRule kRules[] = {
    {0x10, 0x10, R::Direct, W::Fault, "tsc"},                    // the monitor's clock runs on it
    {0x1B, 0x1B, R::Direct, W::Check, "apic-base"},              // the base never moves
    {0x3A, 0x3A, R::Emulate, W::Fault, "feature-control"},       // VMX locked off
    {0x3B, 0x3B, R::Direct, W::Fault, "tsc-adjust"},             // moves the TSC too
    {0x48, 0x49, R::Direct, W::Direct, "spec-ctrl/pred-cmd"},    // speculation controls only
    {0x79, 0x79, R::Fault, W::Fault, "microcode-trigger"},       // loads microcode
    {0x8B, 0x8B, R::Direct, W::Check, "microcode-rev"},          // 0 only: the revision protocol
    {0x9B, 0x9B, R::Forward, W::Fault, "smm-monitor-ctl"},       // would start a dual monitor
    {0x9E, 0x9E, R::Fault, W::Fault, "smbase"},                  // SMM only
    {0xE7, 0xE8, R::Direct, W::Fault, "mperf/aperf"},            // read every tick; writes skew others
    {0xFE, 0xFE, R::Direct, W::Fault, "mtrr-cap"},               // read-only
    {0x10B, 0x10B, R::Direct, W::Direct, "flush-cmd"},           // L1D flush
    {0x140, 0x140, R::Direct, W::Direct, "misc-features"},       // CPUID faulting: CPL 3 only
    {0x174, 0x176, R::Direct, W::Direct, "sysenter"},            // switched by VMCB/VMCS
    {0x179, 0x17B, R::Direct, W::Direct, "mcg"},                 // the guest handles #MC
    {0x19B, 0x19B, R::Direct, W::Direct, "therm-interrupt"},     // the guest's own thermal LVT
    {0x1A0, 0x1A0, R::Direct, W::Check, "misc-enable"},          // TM1 on, CPUID limit and XD disable off
    {0x1B0, 0x1B0, R::Direct, W::Direct, "energy-perf-bias"},    // a power hint
    {0x1B2, 0x1B2, R::Direct, W::Direct, "pkg-therm-interrupt"},
    {0x1D9, 0x1D9, R::Emulate, W::Check, "debugctl"},            // 0 only: BTS would run in the monitor
    {0x1F2, 0x1F3, R::Forward, W::Fault, "smrr"},                // SMRAM range
    {0x1FC, 0x1FC, R::Direct, W::Direct, "power-ctl"},           // C1E promotion: power only
    {0x200, 0x21F, R::Direct, W::Check, "mtrr-var"},             // monitor stays WB or UC
    {0x250, 0x250, R::Direct, W::Check, "mtrr-fix64k"},
    {0x258, 0x259, R::Direct, W::Check, "mtrr-fix16k"},
    {0x268, 0x26F, R::Direct, W::Check, "mtrr-fix4k"},
    {0x277, 0x277, R::Direct, W::Direct, "pat"},                 // the guest's own (G_PAT / VMCS)
    {0x280, 0x29F, R::Direct, W::Direct, "mc-ctl2"},             // the guest handles #MC
    {0x2FF, 0x2FF, R::Direct, W::Check, "mtrr-def-type"},
    {0x400, 0x47F, R::Direct, W::Direct, "mc-banks"},            // the guest handles #MC
    {0x480, 0x493, R::Fault, W::Fault, "vmx"},                   // VMX is hidden
    {0x600, 0x600, R::Forward, W::Fault, "ds-area"},             // BTS/PEBS would write there
    {0x6E0, 0x6E0, R::Direct, W::Direct, "tsc-deadline"},        // the guest's own APIC timer
    {0x800, 0x82F, R::Direct, W::Direct, "x2apic"},              // the guest's own APIC
    {0x830, 0x830, R::Direct, W::Direct, "x2apic-icr"},          // INIT/SIPI: core/smp.cpp claims it
    {0x831, 0x8FF, R::Direct, W::Direct, "x2apic"},
    {0xDA0, 0xDA0, R::Direct, W::Direct, "xss"},                 // the monitor never uses XSAVES
    {0xC0000080, 0xC0000080, R::Emulate, W::Emulate, "efer"},    // SVME hidden, bits checked
    {0xC0000081, 0xC0000084, R::Direct, W::Direct, "syscall"},   // switched by VMCB/VMCS or unused
    {0xC0000100, 0xC0000102, R::Direct, W::Direct, "fs/gs-base"},
    {0xC0000103, 0xC0000103, R::Direct, W::Direct, "tsc-aux"},   // the monitor never reads it
    {0xC0010010, 0xC0010010, R::Direct, W::Fault, "syscfg"},     // memory map and SME
    {0xC0010015, 0xC0010015, R::Direct, W::Fault, "hwcr"},       // SMM lock, cache control
    {0xC0010016, 0xC0010019, R::Direct, W::Fault, "iorr"},       // would send RAM reads to I/O
    {0xC001001A, 0xC001001A, R::Direct, W::Fault, "top-mem"},
    {0xC001001D, 0xC001001D, R::Direct, W::Fault, "tom2"},
    {0xC0010020, 0xC0010020, R::Fault, W::Fault, "patch-loader"},  // loads microcode
    {0xC0010058, 0xC0010058, R::Direct, W::Fault, "mmio-cfg-base"},  // would move ECAM
    {0xC0010111, 0xC0010113, R::Direct, W::Fault, "smm-base/addr/mask"},
    {0xC0010114, 0xC0010114, R::Emulate, W::Fault, "vm-cr"},     // SVM locked off
    {0xC0010116, 0xC0010116, R::Fault, W::Fault, "smm-ctl"},     // SMM entry/exit
    {0xC0010117, 0xC0010117, R::Emulate, W::Emulate, "vm-hsave-pa"},  // reads 0, writes dropped
    {0xC0011029, 0xC0011029, R::Direct, W::Check, "de-cfg"},     // only LFENCE serializing may be set
};

constexpr MsrRule kDefault{0, 0xFFFFFFFF, R::Forward, W::Fault, "unlisted"};

constexpr u8 kUc = 0, kWc = 1, kWt = 4, kWp = 5, kWb = 6, kUcMinus = 7;

bool mtrr_type_valid(u8 t) { return t == kUc || t == kWc || t == kWt || t == kWp || t == kWb; }
bool pat_type_valid(u8 t) { return mtrr_type_valid(t) || t == kUcMinus; }
// UC only slows the monitor down; WB is what it runs with. WC, WT and WP would weaken the
// ordering or coherence its locks and shared rings rely on.
bool harmless_for_monitor(u8 t) { return t == kUc || t == kWb; }

bool overlaps(u64 base, u64 size, PhysRange r) { return base < r.base + r.size && r.base < base + size; }

// A variable MTRR covers every address a with (a & mask) == (base & mask). Whether one such
// address lies in the monitor's range is checked page by page: the range is small, and the
// mask need not be contiguous.
bool var_mtrr_hits(u64 base, u64 mask, u32 phys_bits, PhysRange r) {
    constexpr u64 kValid = 1ull << 11;
    if (!(mask & kValid)) return false;
    u64 const addr_mask = (phys_bits >= 64 ? ~0ull : (1ull << phys_bits) - 1) & ~0xFFFull;
    u64 const m = mask & addr_mask, want = base & m;
    for (u64 a = r.base; a < r.base + r.size; a += kPageSize)
        if ((a & m) == want) return true;
    return false;
}

// Fixed-range MTRRs: eight types for eight equal ranges below 1 MiB.
bool fixed_mtrr_ok(u64 value, u64 start, u64 step, PhysRange monitor) {
    for (u32 i = 0; i < 8; ++i) {
        u8 const t = static_cast<u8>(value >> (8 * i));
        if (!mtrr_type_valid(t)) return false;
        if (!harmless_for_monitor(t) && overlaps(start + i * step, step, monitor)) return false;
    }
    return true;
}

MsrVerdict mtrr_check(u32 msr, u64 value, MsrWriteContext const& c, char const** why) {
    *why = "the monitor's memory must stay write-back or uncached";
    bool ok = true;
    if (msr == 0x2FF) {
        ok = harmless_for_monitor(static_cast<u8>(value));  // the type of every uncovered byte
    } else if (msr == 0x250) {
        ok = fixed_mtrr_ok(value, 0, 0x10000, c.monitor);
    } else if (msr == 0x258 || msr == 0x259) {
        ok = fixed_mtrr_ok(value, 0x80000 + (msr - 0x258) * 0x20000ull, 0x4000, c.monitor);
    } else if (msr >= 0x268 && msr <= 0x26F) {
        ok = fixed_mtrr_ok(value, 0xC0000 + (msr - 0x268) * 0x8000ull, 0x1000, c.monitor);
    } else if ((msr & 1) == 0) {  // PHYSBASE: the type is here, the mask in the pair
        u8 const t = static_cast<u8>(value);
        ok = mtrr_type_valid(t) && (harmless_for_monitor(t) || !var_mtrr_hits(value, c.pair, c.phys_bits, c.monitor));
    } else {  // PHYSMASK
        u8 const t = static_cast<u8>(c.pair);
        ok = harmless_for_monitor(t) || !var_mtrr_hits(c.pair, value, c.phys_bits, c.monitor);
    }
    return ok ? MsrVerdict::Allow : MsrVerdict::Refuse;
}

// Bits 0-7 and 9 are reserved, 8 (BSP) is read-only, 10 and 11 the guest's (x2APIC, enable).
MsrVerdict apic_base_check(u64 value, MsrWriteContext const& c, char const** why) {
    u64 const base_mask = (c.phys_bits >= 64 ? ~0ull : (1ull << c.phys_bits) - 1) & ~0xFFFull;
    *why = "the APIC base cannot move";
    if ((value & base_mask) != (c.current & base_mask)) return MsrVerdict::Refuse;
    *why = "reserved APIC base bits";
    if (value & ~(base_mask | 0xD00ull)) return MsrVerdict::Refuse;
    return MsrVerdict::Allow;
}

// Linux sets TM1 (thermal monitor) and clears LIMIT_CPUID and XD_DISABLE with plain WRMSRs.
// Any other change is refused: setting XD_DISABLE would make the NX bits in the monitor's
// own page tables reserved, and the others (fast strings, MONITOR, EIST) are the CPU's.
MsrVerdict misc_enable_check(u64 value, u64 current, char const** why) {
    constexpr u64 kTm1 = 1ull << 3, kLimitCpuid = 1ull << 22, kXdDisable = 1ull << 34;
    *why = "only TM1 may be set and LIMIT_CPUID and XD_DISABLE cleared";
    u64 const changed = value ^ current;
    if (changed & ~(kTm1 | kLimitCpuid | kXdDisable)) return MsrVerdict::Refuse;
    if ((changed & kTm1 & ~value) || (changed & (kLimitCpuid | kXdDisable) & value)) return MsrVerdict::Refuse;
    return MsrVerdict::Allow;
}

MsrVerdict pat_check(u64 value, char const** why) {
    *why = "invalid PAT type, or entry 0 (the monitor's mappings) not write-back";
    for (u32 i = 0; i < 8; ++i)
        if (!pat_type_valid(static_cast<u8>(value >> (8 * i)))) return MsrVerdict::Refuse;
    return static_cast<u8>(value) == kWb ? MsrVerdict::Allow : MsrVerdict::Refuse;
}

}  // namespace

MsrRule const& msr_rule(u32 msr) {
    for (MsrRule const& r : kRules)
        if (msr >= r.first && msr <= r.last) return r;
    return kDefault;
}

MsrRule const* msr_rules(size_t* count) {
    *count = sizeof kRules / sizeof kRules[0];
    return kRules;
}

MsrVerdict msr_write_check(u32 msr, u64 value, MsrWriteContext const& c, char const** why) {
    switch (msr) {
        case 0x1B: return apic_base_check(value, c, why);
        case 0x8B:
            *why = "only 0 may be written to the microcode revision";
            return value == 0 ? MsrVerdict::Allow : MsrVerdict::Refuse;
        case 0x1D9:
            *why = "branch tracing and LBRs would record the monitor";
            return value == 0 ? MsrVerdict::Ignore : MsrVerdict::Refuse;
        case 0x277: return pat_check(value, why);
        case 0x1A0: return misc_enable_check(value, c.current, why);
        case 0xC0011029:  // Linux sets bit 1 (LFENCE serializing) against Spectre v1
            *why = "only the LFENCE-serializing bit may be set";
            return value == (c.current | 2) ? MsrVerdict::Allow : MsrVerdict::Refuse;
        default: break;
    }
    if ((msr >= 0x200 && msr <= 0x21F) || msr == 0x250 || msr == 0x258 || msr == 0x259 ||
        (msr >= 0x268 && msr <= 0x26F) || msr == 0x2FF)
        return mtrr_check(msr, value, c, why);
    *why = "no write rule";
    return MsrVerdict::Refuse;
}

u64 efer_supported(u32 ext_ecx, u32 ext_edx) {
    constexpr u64 kSce = 1ull << 0, kLme = 1ull << 8, kLma = 1ull << 10, kNxe = 1ull << 11;
    constexpr u64 kFfxsr = 1ull << 14, kTce = 1ull << 15;
    u64 s = 0;
    if (ext_edx & (1u << 11)) s |= kSce;
    if (ext_edx & (1u << 29)) s |= kLme | kLma;
    if (ext_edx & (1u << 20)) s |= kNxe;
    if (ext_edx & (1u << 25)) s |= kFfxsr;
    if (ext_ecx & (1u << 17)) s |= kTce;
    return s;
}

bool efer_write(u64 old, u64 value, u64 supported, bool paging, u64* out) {
    constexpr u64 kLme = 1ull << 8, kLma = 1ull << 10;
    if (value & ~supported) return false;
    if (paging && ((value ^ old) & kLme)) return false;  // SDM: #GP while CR0.PG = 1
    *out = (value & ~kLma) | (old & kLma);
    return true;
}

}  // namespace tv
