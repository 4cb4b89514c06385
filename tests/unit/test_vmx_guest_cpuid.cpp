// CPUID bits that mirror CR4 must mirror the guest's CR4, not the monitor's. Found under
// Bochs' Tiger Lake model: the guest kernel left XSAVE off, the monitor (which enables it for
// itself under VMX) answered OSXSAVE=1, and the guest's init died on XGETBV with #UD.
// Each bit is checked set and clear, from CPUID values the test chooses (never the host's).
#include <gtest/gtest.h>

#include "core/handlers/cpu_handlers.hpp"
#include "tests/unit/fake_vcpu.hpp"

using namespace tv;
using namespace tv::test;

namespace {

constexpr u64 kCr4Osxsave = 1ull << 18, kCr4Pke = 1ull << 22;
constexpr u32 kOsxsave = 1u << 27, kOspke = 1u << 4;

ExitRecord cpuid_exit() {
    ExitRecord e{};
    e.reason = ExitReason::Cpuid;
    e.insn_len = 2;
    return e;
}

u32 guest_ecx(u64 cr4, u32 leaf) {
    FakeVcpu v;
    v.cr4_ = cr4;
    v.set_reg(Reg::Rax, leaf);
    v.set_reg(Reg::Rcx, 0);
    handle_cpuid(v, cpuid_exit());
    return static_cast<u32>(v.reg(Reg::Rcx));
}

}  // namespace

TEST(VmxGuestCpuid, OsxsaveIsSetWhenTheGuestsCr4HasIt) {
    EXPECT_EQ(reflect_guest_cr4(kCr4Osxsave, 1, 0, 0), kOsxsave);
    EXPECT_EQ(reflect_guest_cr4(kCr4Osxsave, 1, 0, 0x80000001u), 0x80000001u | kOsxsave);  // others kept
}

TEST(VmxGuestCpuid, OsxsaveIsClearWhenTheGuestsCr4LacksIt) {
    EXPECT_EQ(reflect_guest_cr4(0, 1, 0, kOsxsave), 0u);  // the monitor's own CR4 has it
    EXPECT_EQ(reflect_guest_cr4(kCr4Pke, 1, 0, kOsxsave | 1u), 1u);  // PKE is not OSXSAVE
}

TEST(VmxGuestCpuid, OspkeIsSetWhenTheGuestsCr4HasIt) {
    EXPECT_EQ(reflect_guest_cr4(kCr4Pke, 7, 0, 0), kOspke);
    EXPECT_EQ(reflect_guest_cr4(kCr4Pke, 7, 0, 0x8u), 0x8u | kOspke);
}

TEST(VmxGuestCpuid, OspkeIsClearWhenTheGuestsCr4LacksIt) {
    EXPECT_EQ(reflect_guest_cr4(0, 7, 0, kOspke), 0u);
    EXPECT_EQ(reflect_guest_cr4(kCr4Osxsave, 7, 0, kOspke | 0x8u), 0x8u);
}

TEST(VmxGuestCpuid, OtherLeavesAndSubleavesAreUntouched) {
    EXPECT_EQ(reflect_guest_cr4(0, 7, 1, kOspke), kOspke);  // only subleaf 0 has OSPKE
    EXPECT_EQ(reflect_guest_cr4(kCr4Pke | kCr4Osxsave, 0xD, 0, 0), 0u);
    EXPECT_EQ(reflect_guest_cr4(0, 0x80000001, 0, kOsxsave), kOsxsave);
}

// Through the exit handler with the fake vCPU's CR4 (the bits come out of the real CPUID
// there, so only the mirrored bits are compared).
TEST(VmxGuestCpuid, TheHandlerUsesTheVcpusCr4) {
    EXPECT_EQ(guest_ecx(0, 1) & kOsxsave, 0u);
    EXPECT_EQ(guest_ecx(kCr4Osxsave, 1) & kOsxsave, kOsxsave);
    EXPECT_EQ(guest_ecx(0, 7) & kOspke, 0u);
    EXPECT_EQ(guest_ecx(kCr4Pke, 7) & kOspke, kOspke);
}
