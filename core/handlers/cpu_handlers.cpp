#include "core/arch/x86/cpu.hpp"
#include "core/handlers/cpu_handlers.hpp"
#include "core/exit_stats.hpp"
#include "core/handlers/msr_policy.hpp"
#include "core/handlers/phys_edge.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"

namespace tv {

namespace {

constexpr u64 kVmCrLockedDisabled = (1ull << 3) | (1ull << 4);  // LOCK | SVMDIS
constexpr u64 kFeatureControlLockedNoVmx = 1;                     // locked, VMX off

void set_edx_eax(Vcpu& v, u64 value) {
    v.set_reg(Reg::Rax, static_cast<u32>(value));
    v.set_reg(Reg::Rdx, static_cast<u32>(value >> 32));
}

constexpr u32 kDebugCtl = 0x1D9, kPat = 0x277;

void done(Vcpu& v, ExitRecord const& e) {
    if (!v.skip(e)) log("cpu: exit %s without instruction length", exit_reason_name(e.reason));
}

}  // namespace

// CPUID reports OSXSAVE (1:ECX[27]) and OSPKE (7.0:ECX[4]) from CR4, and the monitor runs
// the CPUID with its own CR4. The guest must see its own bits: a guest kernel that left XSAVE
// off, told OSXSAVE=1, has its programs run XGETBV into #UD.
u32 reflect_guest_cr4(u64 cr4, u32 leaf, u32 subleaf, u32 ecx) {
    constexpr u64 kCr4Osxsave = 1ull << 18, kCr4Pke = 1ull << 22;
    constexpr u32 kOsxsave = 1u << 27, kOspke = 1u << 4;
    if (leaf == 1) return (cr4 & kCr4Osxsave) ? ecx | kOsxsave : ecx & ~kOsxsave;
    if (leaf == 7 && subleaf == 0) return (cr4 & kCr4Pke) ? ecx | kOspke : ecx & ~kOspke;
    return ecx;
}

void handle_cpuid(Vcpu& v, ExitRecord const& e) {
    u32 leaf = static_cast<u32>(v.reg(Reg::Rax));
    u32 const subleaf = static_cast<u32>(v.reg(Reg::Rcx));
    auto r = x86::cpuid(leaf, subleaf);
    filter_cpuid(leaf, &r.eax, &r.ebx, &r.ecx, &r.edx);
    r.ecx = reflect_guest_cr4(v.cr4(), leaf, subleaf, r.ecx);
    v.set_reg(Reg::Rax, r.eax);
    v.set_reg(Reg::Rbx, r.ebx);
    v.set_reg(Reg::Rcx, r.ecx);
    v.set_reg(Reg::Rdx, r.edx);
    done(v, e);
}

namespace {

constexpr u32 kRefusalsLoggedInFull = 32;  // then one line every 1024th

// A refused write: logged (rate-limited) and counted, and the guest gets #GP, what a CPU
// that forbids the write does.
void refuse(Vcpu& v, u32 msr, u64 value, char const* why) {
    static u64 refused;
    u64 const n = __atomic_add_fetch(&refused, 1, __ATOMIC_RELAXED);
    stats_count(Event::MsrRefused);
    if (n <= kRefusalsLoggedInFull || n % 1024 == 0)
        log("msr: vcpu %u: WRMSR %#x <- %#llx at rip %#llx refused (%s, %s; %llu refused)", v.id(), msr,
            static_cast<unsigned long long>(value), static_cast<unsigned long long>(v.rip()), msr_rule(msr).name, why,
            static_cast<unsigned long long>(n));
    v.inject_exception(13, true, 0);
}

bool emulated_read(Vcpu& v, u32 msr, u64* value) {
    switch (msr) {
        case x86::msr::kEfer: *value = v.efer(); return true;
        case x86::msr::kVmCr: *value = kVmCrLockedDisabled; return true;
        case x86::msr::kVmHsavePa: *value = 0; return true;
        case x86::msr::kFeatureControl: *value = kFeatureControlLockedNoVmx; return true;
        case kDebugCtl: *value = 0; return true;  // the only value a guest may write
        default: return false;
    }
}

// EFER: reserved bits and an LME change under paging fault as on the CPU, instead of
// failing the next VM entry (VMRUN checks them and the monitor could not go on).
bool write_efer(Vcpu& v, u64 value) {
    auto const ext = x86::cpuid(0x80000001);
    u64 next;
    if (!efer_write(v.efer(), value, efer_supported(ext.ecx, ext.edx), v.cr0() & x86::kCr0Pg, &next)) {
        refuse(v, x86::msr::kEfer, value, "reserved bit, SVME, or LME changed while paging");
        return false;
    }
    v.set_efer(next);
    return true;
}

// Asks msr_write_check with the state it needs; false when the write was refused.
bool checked(Vcpu& v, u32 msr, u64 value, bool* ignore) {
    MsrWriteContext c{};
    if (!x86::rdmsr_safe(msr, &c.current)) c.current = 0;
    if (msr >= 0x200 && msr <= 0x21F && !x86::rdmsr_safe(msr ^ 1, &c.pair)) c.pair = 0;
    c.phys_bits = cpu_phys_bits();
    c.monitor = PhysRange{monitor_region().base, monitor_region().size};
    char const* why = "";
    MsrVerdict const verdict = msr_write_check(msr, value, c, &why);
    if (verdict == MsrVerdict::Refuse) {
        refuse(v, msr, value, why);
        return false;
    }
    *ignore = verdict == MsrVerdict::Ignore;
    return true;
}

}  // namespace

void handle_msr_read(Vcpu& v, ExitRecord const& e) {
    u32 const msr = static_cast<u32>(v.reg(Reg::Rcx));
    u64 value = 0;
    bool ok = false;
    switch (msr_rule(msr).read) {
        case MsrRead::Emulate: ok = emulated_read(v, msr, &value); break;
        case MsrRead::Direct:  // exits anyway: outside the bitmap's ranges, or claimed by the core
        case MsrRead::Forward: ok = x86::rdmsr_safe(msr, &value); break;
        case MsrRead::Fault: break;
    }
    if (!ok) {
        v.inject_exception(13, true, 0);  // what a CPU without the MSR does
        return;
    }
    set_edx_eax(v, value);
    done(v, e);
}

void handle_msr_write(Vcpu& v, ExitRecord const& e) {
    u32 const msr = static_cast<u32>(v.reg(Reg::Rcx));
    u64 const value = (v.reg(Reg::Rdx) << 32) | static_cast<u32>(v.reg(Reg::Rax));
    bool ignore = false;
    switch (msr_rule(msr).write) {
        case MsrWrite::Fault:
            refuse(v, msr, value, "not writable by the guest");
            return;
        case MsrWrite::Emulate:
            if (msr == x86::msr::kEfer && !write_efer(v, value)) return;
            // VM_HSAVE_PA: harmless to accept; the monitor's own host save area is elsewhere.
            break;
        case MsrWrite::Check:
            if (!checked(v, msr, value, &ignore)) return;
            if (!ignore && !x86::wrmsr_safe(msr, value)) {
                v.inject_exception(13, true, 0);
                return;
            }
            break;
        case MsrWrite::Direct:  // exits anyway; PAT only when the backend cannot switch it
            if (msr == kPat && !checked(v, msr, value, &ignore)) return;
            if (!x86::wrmsr_safe(msr, value)) {
                v.inject_exception(13, true, 0);
                return;
            }
            break;
    }
    done(v, e);
}

bool is_svm_instruction(u8 const* b, size_t n, bool code64) {
    size_t i = 0;
    auto legacy_prefix = [](u8 x) {
        return x == 0x66 || x == 0x67 || x == 0xF0 || x == 0xF2 || x == 0xF3 || x == 0x2E || x == 0x36 ||
               x == 0x3E || x == 0x26 || x == 0x64 || x == 0x65;
    };
    while (i < n && legacy_prefix(b[i])) ++i;
    if (code64 && i < n && (b[i] & 0xF0) == 0x40) ++i;  // REX: only right before the opcode
    if (i + 3 > n || i + 3 > 15 || b[i] != 0x0F || b[i + 1] != 0x01) return false;
    u8 const modrm = b[i + 2];
    return modrm >= 0xD8 && modrm <= 0xDF && modrm != 0xD9;  // D9, VMMCALL, has no CPL check
}

void handle_virt_instruction(Vcpu& v, ExitRecord const&) {
    v.inject_exception(6, false, 0);  // #UD, as on a CPU without the extension
}

}  // namespace tv
