// CPUID bits that mirror CR4 must mirror the guest's CR4, not the monitor's. Found under
// Bochs' Tiger Lake model: the guest kernel left XSAVE off, the monitor (which enables it for
// itself under VMX) answered OSXSAVE=1, and the guest's init died on XGETBV with #UD.
#include <gtest/gtest.h>


#include "core/handlers/cpu_handlers.hpp"
#include "tests/unit/fake_vcpu.hpp"

using namespace tv;
using namespace tv::test;

namespace {
ExitRecord cpuid_exit() {
    ExitRecord e{};
    e.reason = ExitReason::Cpuid;
    e.insn_len = 2;
    return e;
}
}  // namespace

TEST(VmxGuestCpuid, OsxsaveFollowsTheGuestsCr4) {
    FakeVcpu v;  // its CR4 is 0: the guest never enabled XSAVE
    v.set_reg(Reg::Rax, 1);
    v.set_reg(Reg::Rcx, 0);
    handle_cpuid(v, cpuid_exit());
    EXPECT_EQ(v.reg(Reg::Rcx) & (1u << 27), 0u);
}

TEST(VmxGuestCpuid, OspkeFollowsTheGuestsCr4) {
    FakeVcpu v;
    v.set_reg(Reg::Rax, 7);
    v.set_reg(Reg::Rcx, 0);
    handle_cpuid(v, cpuid_exit());
    EXPECT_EQ(v.reg(Reg::Rcx) & (1u << 4), 0u);
}
