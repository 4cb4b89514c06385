// The guest's MSRs, default-deny: one table names the MSRs the guest reads or writes on the
// CPU directly (the intercept bitmaps of both backends are built from it) and what the
// monitor does with every other one. The table and its write checks are pure: host-tested.
// docs/security.md lists the table with a reason for each entry.
#pragma once

#include "core/types.hpp"

namespace tv {

enum class MsrRead : u8 {
    Direct,   // the CPU's MSR, with no exit where the bitmap can say so (forwarded otherwise)
    Forward,  // exits; the CPU's value is returned (a read-only view, #GP where the CPU has none)
    Emulate,  // exits; the monitor answers with the value the guest must see
    Fault,    // exits; #GP, as on a CPU without the MSR
};

enum class MsrWrite : u8 {
    Direct,   // written to the CPU, with no exit where the bitmap can say so
    Check,    // exits; msr_write_check decides, then the CPU's MSR is written
    Emulate,  // exits; the monitor keeps the value in the vCPU (EFER) or drops it
    Fault,    // exits; #GP, logged (rate-limited) and counted
};

struct MsrRule {
    u32 first, last;
    MsrRead read;
    MsrWrite write;
    char const* name;
};

// The rule for `msr`; an MSR the table does not name gets the default: reads forwarded,
// writes refused.
MsrRule const& msr_rule(u32 msr);
// The whole table, in ascending MSR order (for the backends' bitmaps and the docs test).
MsrRule const* msr_rules(size_t* count);

struct PhysRange {
    u64 base, size;
};

// The state a write check looks at, read by the trap layer before it asks.
struct MsrWriteContext {
    u64 current;        // the CPU's present value of the MSR
    u64 pair;           // variable MTRRs: the present value of the other half of the pair
    u32 phys_bits;      // MAXPHYADDR
    PhysRange monitor;  // memory the monitor owns
};

enum class MsrVerdict : u8 {
    Allow,   // write the value to the CPU
    Ignore,  // accept and drop (the value the guest wrote is the only one it can have)
    Refuse,  // #GP
};

// For MsrWrite::Check MSRs (and PAT when a backend must intercept it); *why names the rule
// a refusal broke, for the log.
MsrVerdict msr_write_check(u32 msr, u64 value, MsrWriteContext const& c, char const** why);

// EFER as WRMSR would load it, or false for #GP: only bits the CPU the guest sees supports
// (`supported`), LME fixed while paging is on, LMA kept (the CPU owns it).
[[nodiscard]] bool efer_write(u64 old, u64 value, u64 supported, bool paging, u64* out);
// The EFER bits a guest may set on a CPU whose CPUID 0x80000001 says ecx/edx (SVME never).
u64 efer_supported(u32 ext_ecx, u32 ext_edx);

}  // namespace tv
