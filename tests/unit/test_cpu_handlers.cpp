// Guest-visible CPU behaviour through the vendor-neutral handlers.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/arch/x86/cpu.hpp"
#include "core/handlers/cpu_handlers.hpp"
#include "core/exit_stats.hpp"
#include "core/layout.hpp"
#include "tests/unit/fake_vcpu.hpp"

using namespace tv;
using tv::test::exit_of;
using tv::test::FakeVcpu;

// Host stand-ins for the monitor's hardware access: a fake MSR file where unknown MSRs fault.
namespace {
std::map<u32, u64> g_msrs;
}
namespace tv {
// log(): the one in tests/unit/mocks/ records every line (the install-glue tests read them).
MonitorRegion const& monitor_region() {
    static constexpr MonitorRegion r{0x1E000000, 32ull << 20};
    return r;
}
namespace x86 {
bool rdmsr_safe(u32 msr, u64* value) {
    auto it = g_msrs.find(msr);
    if (it == g_msrs.end()) return false;
    *value = it->second;
    return true;
}
bool wrmsr_safe(u32 msr, u64 value) {
    if (!g_msrs.count(msr)) return false;
    g_msrs[msr] = value;
    return true;
}
}  // namespace x86
}  // namespace tv

namespace {

void read_msr(FakeVcpu& v, u32 msr) {
    v.set_reg(Reg::Rcx, msr);
    handle_msr_read(v, exit_of(ExitReason::MsrRead, 2));
}

void write_msr(FakeVcpu& v, u32 msr, u64 value) {
    v.set_reg(Reg::Rcx, msr);
    v.set_reg(Reg::Rax, static_cast<u32>(value));
    v.set_reg(Reg::Rdx, value >> 32);
    handle_msr_write(v, exit_of(ExitReason::MsrWrite, 2));
}

u64 edx_eax(FakeVcpu const& v) { return (v.reg(Reg::Rdx) << 32) | static_cast<u32>(v.reg(Reg::Rax)); }

}  // namespace

TEST(CpuHandlers, EferReadShowsTheGuestValueWithoutSvme) {
    FakeVcpu v;
    v.efer_ = 0xD01;
    read_msr(v, x86::msr::kEfer);
    EXPECT_EQ(edx_eax(v), 0xD01u);
    EXPECT_EQ(v.rip(), 0x1002u);
    EXPECT_FALSE(v.injected);
}

TEST(CpuHandlers, SettingEferSvmeFaultsAndChangesNothing) {
    FakeVcpu v;
    write_msr(v, x86::msr::kEfer, 0x500 | x86::kEferSvme);
    EXPECT_TRUE(v.injected);
    EXPECT_EQ(v.vector_, 13);
    EXPECT_EQ(v.efer_, 0x500u);
    EXPECT_EQ(v.rip(), 0x1000u);  // a faulting instruction is not skipped
}

TEST(CpuHandlers, EferWriteWithoutSvmeIsAccepted) {
    FakeVcpu v;
    write_msr(v, x86::msr::kEfer, 0xD01);
    EXPECT_FALSE(v.injected);
    EXPECT_EQ(v.efer_, 0xD01u);
    EXPECT_EQ(v.rip(), 0x1002u);
}

TEST(CpuHandlers, VmCrReadsLockedAndDisabledAndRefusesWrites) {
    FakeVcpu v;
    read_msr(v, x86::msr::kVmCr);
    EXPECT_EQ(edx_eax(v) & 0x18, 0x18u);
    FakeVcpu w;
    write_msr(w, x86::msr::kVmCr, 0);
    EXPECT_TRUE(w.injected);
    EXPECT_EQ(w.vector_, 13);
}

TEST(CpuHandlers, HostSaveAreaAddressIsNeverRevealed) {
    g_msrs[x86::msr::kVmHsavePa] = 0x1de01000;  // what the hardware holds
    FakeVcpu v;
    read_msr(v, x86::msr::kVmHsavePa);
    EXPECT_EQ(edx_eax(v), 0u);
    write_msr(v, x86::msr::kVmHsavePa, 0x5000);
    EXPECT_EQ(g_msrs[x86::msr::kVmHsavePa], 0x1de01000u);  // the monitor's own value is untouched
}

TEST(CpuHandlers, UnknownMsrReadBecomesGuestGp) {
    FakeVcpu v;
    read_msr(v, 0x40001234);
    EXPECT_TRUE(v.injected);
    EXPECT_EQ(v.vector_, 13);
    EXPECT_TRUE(v.has_error_);
}

TEST(CpuHandlers, OrdinaryMsrPassesThrough) {
    g_msrs[0x277] = 0x0007040600070406ull;
    FakeVcpu v;
    read_msr(v, 0x277);
    EXPECT_EQ(edx_eax(v), 0x0007040600070406ull);
    write_msr(v, 0x277, 0x0006060606060606ull);
    EXPECT_EQ(g_msrs[0x277], 0x0006060606060606ull);
}

TEST(CpuHandlers, VmxMsrsAndFeatureControlAreProtected) {
    FakeVcpu v;
    read_msr(v, x86::msr::kFeatureControl);
    EXPECT_EQ(edx_eax(v) & 0x5, 0x1u);  // locked, VMX outside SMX off
    FakeVcpu w;
    read_msr(w, x86::msr::kVmxBasic);
    EXPECT_TRUE(w.injected);
    FakeVcpu x;
    write_msr(x, x86::msr::kFeatureControl, 5);
    EXPECT_TRUE(x.injected);
}

TEST(CpuHandlers, VirtualizationInstructionsRaiseUd) {
    FakeVcpu v;
    handle_virt_instruction(v, exit_of(ExitReason::VirtInstruction, 3));
    EXPECT_TRUE(v.injected);
    EXPECT_EQ(v.vector_, 6);
    EXPECT_FALSE(v.has_error_);
    EXPECT_EQ(v.rip(), 0x1000u);
}

TEST(CpuHandlers, CpuidHidesSvmFromTheGuest) {
    FakeVcpu v;
    v.set_reg(Reg::Rax, 0x80000001);
    v.set_reg(Reg::Rcx, 0);
    handle_cpuid(v, exit_of(ExitReason::Cpuid, 2));
    EXPECT_EQ(v.reg(Reg::Rcx) & (1u << 2), 0u);
    EXPECT_EQ(v.rip(), 0x1002u);
}

// The trap layer applies the MSR policy: a refused write is #GP, counted, and never reaches
// the CPU; an allowed checked write does.
namespace {
u64 refused_count() {
    for (u32 i = 0;; ++i) {
        char const* name;
        u64 value;
        if (!stats_counter(i, &name, &value)) return ~0ull;
        if (std::string(name) == "msr-refused") return value;
    }
}
}  // namespace

TEST(CpuHandlers, RefusedMsrWriteFaultsIsCountedAndLeavesTheCpuAlone) {
    g_msrs[0xC001001A] = 0x20000000;  // TOP_MEM
    u64 const before = refused_count();
    FakeVcpu v;
    write_msr(v, 0xC001001A, 0x1E000000);
    EXPECT_TRUE(v.injected);
    EXPECT_EQ(v.vector_, 13);
    EXPECT_EQ(v.rip(), 0x1000u);
    EXPECT_EQ(g_msrs[0xC001001A], 0x20000000u);
    EXPECT_EQ(refused_count(), before + 1);
}

TEST(CpuHandlers, ApicBaseMoveIsRefusedAndItsEnableBitsAreNot) {
    g_msrs[0x1B] = 0xFEE00900;
    FakeVcpu v;
    write_msr(v, 0x1B, 0x1E000900);  // the xAPIC page over the monitor
    EXPECT_TRUE(v.injected);
    EXPECT_EQ(g_msrs[0x1B], 0xFEE00900u);
    FakeVcpu w;
    write_msr(w, 0x1B, 0xFEE00D00);  // x2APIC mode on
    EXPECT_FALSE(w.injected);
    EXPECT_EQ(g_msrs[0x1B], 0xFEE00D00u);
    EXPECT_EQ(w.rip(), 0x1002u);
}

TEST(CpuHandlers, EferReservedBitFaultsInsteadOfFailingTheNextEntry) {
    FakeVcpu v;
    write_msr(v, x86::msr::kEfer, 0x500 | (1ull << 3));
    EXPECT_TRUE(v.injected);
    EXPECT_EQ(v.vector_, 13);
    EXPECT_EQ(v.efer_, 0x500u);
}

TEST(CpuHandlers, UnlistedMsrReadsTheCpuButCannotWriteIt) {
    g_msrs[0x1A2] = 0x640000;
    FakeVcpu v;
    read_msr(v, 0x1A2);
    EXPECT_FALSE(v.injected);
    EXPECT_EQ(edx_eax(v), 0x640000u);
    write_msr(v, 0x1A2, 0);
    EXPECT_TRUE(v.injected);
    EXPECT_EQ(g_msrs[0x1A2], 0x640000u);
}

// The #GP intercept's test: which faulting instructions are SVM instructions whose privilege
// check comes before their intercept (they must give #UD, as without SVM).
TEST(CpuHandlers, SvmInstructionsAreRecognisedWithPrefixesAndRex) {
    for (u8 modrm : {0xD8, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF}) {
        u8 const plain[] = {0x0F, 0x01, modrm};
        EXPECT_TRUE(is_svm_instruction(plain, sizeof plain, true)) << int{modrm};
        u8 const prefixed[] = {0x67, 0x66, 0x48, 0x0F, 0x01, modrm, 0x90};
        EXPECT_TRUE(is_svm_instruction(prefixed, sizeof prefixed, true)) << int{modrm};
        EXPECT_FALSE(is_svm_instruction(prefixed, sizeof prefixed, false)) << int{modrm};  // 0x48 is DEC there
    }
}

TEST(CpuHandlers, OtherFaultingInstructionsStayGeneralProtection) {
    u8 const vmmcall[] = {0x0F, 0x01, 0xD9};      // no CPL check: it exits by itself
    u8 const lgdt[] = {0x0F, 0x01, 0x10};         // LGDT [rax]: #GP at CPL 3
    u8 const wrmsr[] = {0x0F, 0x30};
    u8 const truncated[] = {0x66, 0x0F, 0x01};
    EXPECT_FALSE(is_svm_instruction(vmmcall, sizeof vmmcall, true));
    EXPECT_FALSE(is_svm_instruction(lgdt, sizeof lgdt, true));
    EXPECT_FALSE(is_svm_instruction(wrmsr, sizeof wrmsr, true));
    EXPECT_FALSE(is_svm_instruction(truncated, sizeof truncated, true));
    EXPECT_FALSE(is_svm_instruction(nullptr, 0, true));
    u8 too_long[16];
    for (u8& b : too_long) b = 0x66;
    too_long[13] = 0x0F, too_long[14] = 0x01, too_long[15] = 0xD8;  // 16 bytes: not an instruction
    EXPECT_FALSE(is_svm_instruction(too_long, sizeof too_long, true));
}
