// VT-x capability checks: which CPUs are refused (and why), and the controls chosen.
#include <gtest/gtest.h>

#include <string>

#include "core/arch/x86/vmx/vmcs.hpp"
#include "core/arch/x86/vmx/vmx_caps.hpp"

using namespace tv;
using namespace tv::vmx;

namespace {

constexpr u64 ctl(u32 must_be_1, u32 may_be_1) { return (static_cast<u64>(may_be_1) << 32) | must_be_1; }

// A Haswell-like CPU with everything the monitor wants, as the TRUE_* MSRs describe it:
// default1 controls such as CR3-load exiting (bit 15) may be cleared.
VmxMsrs good_cpu() {
    VmxMsrs m{};
    m.cpuid_vmx = true;
    m.cpuid_1g_pages = true;
    m.feature_control = kFeatureControlLock | kFeatureControlVmx;  // what the Bochs BIOS leaves: 5
    m.basic = (1ull << 55) | (4096ull << 32) | 0x2b;
    m.misc = 1ull << 5;
    m.pin = ctl(0x16, 0x7F);
    m.proc = ctl(0x04006172, 0xFFFFFFFE);
    m.proc2 = ctl(0, proc2::kEpt | proc2::kUnrestricted | proc2::kRdtscp | proc2::kInvpcid | (1u << 5));
    m.exit = ctl(0x36DFF, 0x3FFFFF);
    m.entry = ctl(0x11FF, 0xFFFF);
    m.cr0_fixed0 = 0x80000021;
    m.cr0_fixed1 = 0xFFFFFFFF;
    m.cr4_fixed0 = 0x2000;
    m.cr4_fixed1 = 0x3767FF;
    m.ept_vpid_cap = (1ull << 6) | (1ull << 14) | (1ull << 16) | (1ull << 17) | (1ull << 20) | (1ull << 25) |
                     (1ull << 26);
    return m;
}

struct Verdict {
    bool ok;
    std::string why;
    VmxCaps caps;
};

Verdict judge(VmxMsrs const& m) {
    Verdict v{};
    char why[200] = "";
    v.ok = evaluate_caps(m, &v.caps, why, sizeof why);
    v.why = why;
    return v;
}

void expect_refused(VmxMsrs const& m, char const* needle) {
    Verdict v = judge(m);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.why.find(needle), std::string::npos) << v.why;
}

}  // namespace

TEST(VmxCaps, AGoodCpuIsAcceptedWithItsRevisionId) {
    Verdict v = judge(good_cpu());
    ASSERT_TRUE(v.ok) << v.why;
    EXPECT_EQ(v.caps.revision, 0x2bu);
    VmxMsrs m = good_cpu();
    m.basic = (1ull << 55) | (4096ull << 32) | 4;  // icelake and tigerlake models
    EXPECT_EQ(judge(m).caps.revision, 4u);
}

TEST(VmxCaps, ControlsKeepMustBeOneBitsAndDropUnwantedDefaults) {
    VmxCaps c = judge(good_cpu()).caps;
    EXPECT_EQ(c.pin, 0x16u | pin::kNmiExiting | pin::kVirtualNmis);
    EXPECT_TRUE(c.nmi_kick);
    EXPECT_EQ(c.proc & proc::kNmiWindow, 0u) << "NMI-window exiting only while an NMI waits";
    EXPECT_EQ(c.proc & 0x04006172u, 0x04006172u);
    EXPECT_EQ(c.proc & (1u << 15), 0u) << "CR3-load exiting is a default1 the TRUE MSR lets go";
    EXPECT_EQ(c.proc & proc::kMtf, 0u) << "MTF is switched on per single step only";
    EXPECT_TRUE(c.proc & proc::kUseIoBitmaps);
    EXPECT_TRUE(c.proc & proc::kUseMsrBitmaps);
    EXPECT_TRUE(c.proc & proc::kSecondary);
    EXPECT_EQ(c.proc2, proc2::kEpt | proc2::kUnrestricted | proc2::kRdtscp | proc2::kInvpcid);
    EXPECT_TRUE(c.exit & exit_ctl::kHost64);
    EXPECT_TRUE(c.exit & exit_ctl::kLoadEfer);
    EXPECT_TRUE(c.exit & exit_ctl::kSaveEfer);
    EXPECT_TRUE(c.entry & entry_ctl::kLoadEfer);
    EXPECT_FALSE(c.entry & entry_ctl::kIa32eGuest) << "the guest starts in real mode";
    EXPECT_TRUE(c.pat);
    EXPECT_TRUE(c.mtf);
    EXPECT_TRUE(c.invept_single);
}

TEST(VmxCaps, UnrestrictedGuestRelaxesOnlyPeAndPg) {
    VmxCaps c = judge(good_cpu()).caps;
    EXPECT_EQ(c.cr0_fixed0, 0x20u) << "NE stays forced";
    EXPECT_EQ(c.cr4_fixed0, 0x2000u) << "VMXE stays forced";
}

TEST(VmxCaps, FeatureControl) {
    VmxMsrs m = good_cpu();
    EXPECT_FALSE(judge(m).caps.feature_control_unlocked) << "locked: never written again";
    m.feature_control = 0;
    Verdict v = judge(m);
    EXPECT_TRUE(v.ok);
    EXPECT_TRUE(v.caps.feature_control_unlocked);
    m.feature_control = kFeatureControlLock;
    expect_refused(m, "disabled by the firmware");
}

TEST(VmxCaps, NoVmxAtAll) {
    VmxMsrs m{};
    expect_refused(m, "does not offer Intel VT-x (VMX)");
}

TEST(VmxCaps, NoEptIsRefusedNamingEpt) {  // core2_penryn_t9600
    VmxMsrs m = good_cpu();
    m.proc2 = 0;
    m.ept_vpid_cap = 0;
    expect_refused(m, "no extended page tables (EPT)");
    m = good_cpu();
    m.proc = ctl(0x04006172, 0x7FFFFFFE);  // no secondary controls at all
    expect_refused(m, "no extended page tables (EPT)");
}

TEST(VmxCaps, NoUnrestrictedGuestIsRefusedNamingIt) {  // corei5_lynnfield_750
    VmxMsrs m = good_cpu();
    m.proc2 = ctl(0, proc2::kEpt | proc2::kRdtscp);
    expect_refused(m, "no unrestricted guest");
    m = good_cpu();
    m.misc = 0;  // exits would not record EFER.LMA
    expect_refused(m, "no unrestricted guest");
}

TEST(VmxCaps, EptDetails) {
    struct {
        u64 drop;
        char const* why;
    } const cases[] = {
        {1ull << 6, "4-level"},     {1ull << 14, "write-back"}, {1ull << 16, "2 MiB"},
        {1ull << 17, "1 GiB"},      {1ull << 20, "INVEPT"},     {(1ull << 25) | (1ull << 26), "INVEPT"},
    };
    for (auto const& c : cases) {
        VmxMsrs m = good_cpu();
        m.ept_vpid_cap &= ~c.drop;
        expect_refused(m, c.why);
    }
    VmxMsrs m = good_cpu();
    m.cpuid_1g_pages = false;
    m.ept_vpid_cap &= ~(1ull << 17);
    EXPECT_TRUE(judge(m).ok) << "no 1 GiB pages anywhere: the core uses 2 MiB ones";
    m.ept_vpid_cap &= ~(1ull << 25);
    EXPECT_FALSE(judge(m).caps.invept_single);
}

TEST(VmxCaps, OptionalFeatures) {
    VmxMsrs m = good_cpu();
    m.proc = ctl(0x04006172, 0xF7FFFFFE);  // no MTF (Bochs 2.7)
    m.entry = ctl(0x11FF, 0xBFFF);           // no PAT loading
    Verdict v = judge(m);
    ASSERT_TRUE(v.ok) << v.why;
    EXPECT_FALSE(v.caps.mtf);
    EXPECT_FALSE(v.caps.pat);
    EXPECT_FALSE(v.caps.exit & exit_ctl::kLoadPat);
}

TEST(VmxCaps, RequiredControls) {
    VmxMsrs m = good_cpu();
    m.proc = ctl(0x04006172, 0xEFFFFFFE);  // no MSR bitmaps
    expect_refused(m, "I/O or MSR bitmaps");
    m = good_cpu();
    m.entry = ctl(0x11FF, 0x7FFF);  // cannot load EFER
    expect_refused(m, "IA32_EFER");
}

TEST(VmxCaps, NmiKickNeedsVirtualNmisAndTheNmiWindow) {
    VmxMsrs m = good_cpu();
    m.pin = ctl(0x16, 0x1F);  // NMI exiting without virtual NMIs
    VmxCaps c = judge(m).caps;
    EXPECT_FALSE(c.nmi_kick);
    EXPECT_EQ(c.pin, 0x16u) << "NMIs then go straight to the guest";
    m = good_cpu();
    m.proc = ctl(0x04006172, 0xFFFFFFFE & ~proc::kNmiWindow);
    c = judge(m).caps;
    EXPECT_FALSE(c.nmi_kick);
    EXPECT_EQ(c.pin & pin::kNmiExiting, 0u);
}
