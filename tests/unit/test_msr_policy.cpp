// The default-deny MSR policy (core/handlers/msr_policy): one test per class of MSR.
#include <gtest/gtest.h>

#include "core/handlers/msr_policy.hpp"

using namespace tv;

namespace {

constexpr PhysRange kMonitor{0x1E000000, 32ull << 20};

MsrWriteContext ctx(u64 current = 0, u64 pair = 0) { return MsrWriteContext{current, pair, 40, kMonitor}; }

MsrVerdict check(u32 msr, u64 value, MsrWriteContext const& c) {
    char const* why = nullptr;
    MsrVerdict const v = msr_write_check(msr, value, c, &why);
    EXPECT_NE(why, nullptr);
    return v;
}

void expect_rule(u32 msr, MsrRead read, MsrWrite write) {
    MsrRule const& r = msr_rule(msr);
    EXPECT_EQ(r.read, read) << std::hex << msr << " " << r.name;
    EXPECT_EQ(r.write, write) << std::hex << msr << " " << r.name;
}

}  // namespace

TEST(MsrPolicy, TableIsSortedWithoutOverlaps) {
    size_t n = 0;
    MsrRule const* r = msr_rules(&n);
    ASSERT_GT(n, 0u);
    for (size_t i = 0; i < n; ++i) {
        EXPECT_LE(r[i].first, r[i].last) << r[i].name;
        if (i) {
            EXPECT_LT(r[i - 1].last, r[i].first) << r[i].name;
        }
    }
}

TEST(MsrPolicy, UnlistedMsrsAreReadOnlyViewsAndRefuseWrites) {
    for (u32 msr : {0x1A2u, 0xC1u, 0x186u, 0x38Fu, 0xC0010000u, 0xC0010007u, 0x40000000u})
        expect_rule(msr, MsrRead::Forward, MsrWrite::Fault);
    EXPECT_EQ(check(0x1234, 0, ctx()), MsrVerdict::Refuse);  // no write rule either
}

TEST(MsrPolicy, GuestOwnedStateIsDirect) {
    for (u32 msr : {0x174u, 0x175u, 0x176u, 0xC0000081u, 0xC0000082u, 0xC0000083u, 0xC0000084u, 0xC0000100u,
                    0xC0000101u, 0xC0000102u, 0xC0000103u, 0x277u, 0x6E0u, 0x48u, 0x49u, 0x10Bu, 0xDA0u})
        expect_rule(msr, MsrRead::Direct, MsrWrite::Direct);
}

TEST(MsrPolicy, X2apicIsDirectAndItsIcrIsItsOwnLine) {
    for (u32 msr : {0x800u, 0x802u, 0x80Bu, 0x82Fu, 0x830u, 0x831u, 0x83Fu, 0x8FFu})
        expect_rule(msr, MsrRead::Direct, MsrWrite::Direct);
    EXPECT_STREQ(msr_rule(0x830).name, "x2apic-icr");  // core/smp.cpp claims it: it always exits
}

TEST(MsrPolicy, MachineCheckBanksAreTheGuests) {
    for (u32 msr : {0x179u, 0x17Au, 0x17Bu, 0x280u, 0x29Fu, 0x400u, 0x47Fu})
        expect_rule(msr, MsrRead::Direct, MsrWrite::Direct);
}

TEST(MsrPolicy, ApicBaseCannotMove) {
    expect_rule(0x1B, MsrRead::Direct, MsrWrite::Check);
    u64 const cur = 0xFEE00000 | (1u << 11) | (1u << 8);
    EXPECT_EQ(check(0x1B, cur, ctx(cur)), MsrVerdict::Allow);
    EXPECT_EQ(check(0x1B, cur | (1u << 10), ctx(cur)), MsrVerdict::Allow);  // x2APIC mode
    EXPECT_EQ(check(0x1B, cur & ~(1ull << 11), ctx(cur)), MsrVerdict::Allow);  // disable
    EXPECT_EQ(check(0x1B, 0x1E000000 | (1u << 11), ctx(cur)), MsrVerdict::Refuse);  // over the monitor
    EXPECT_EQ(check(0x1B, 0xFED00000 | (1u << 11), ctx(cur)), MsrVerdict::Refuse);  // anywhere else
    EXPECT_EQ(check(0x1B, cur | (1ull << 45), ctx(cur)), MsrVerdict::Refuse);       // above MAXPHYADDR
    EXPECT_EQ(check(0x1B, cur | (1u << 9), ctx(cur)), MsrVerdict::Refuse);          // reserved
}

TEST(MsrPolicy, MicrocodeCannotBeLoaded) {
    expect_rule(0x79, MsrRead::Fault, MsrWrite::Fault);
    expect_rule(0xC0010020, MsrRead::Fault, MsrWrite::Fault);
    expect_rule(0x8B, MsrRead::Direct, MsrWrite::Check);
    EXPECT_EQ(check(0x8B, 0, ctx(0x1200000000ull)), MsrVerdict::Allow);  // the revision protocol
    EXPECT_EQ(check(0x8B, 0x1300000000ull, ctx(0x1200000000ull)), MsrVerdict::Refuse);
}

TEST(MsrPolicy, AmdMemoryMapIsReadOnly) {
    for (u32 msr : {0xC0010010u, 0xC0010015u, 0xC0010016u, 0xC0010019u, 0xC001001Au, 0xC001001Du, 0xC0010058u})
        expect_rule(msr, MsrRead::Direct, MsrWrite::Fault);
}

TEST(MsrPolicy, AmdDeCfgOnlyTakesLfenceSerializing) {
    expect_rule(0xC0011029, MsrRead::Direct, MsrWrite::Check);
    EXPECT_EQ(check(0xC0011029, 0x2, ctx(0)), MsrVerdict::Allow);
    EXPECT_EQ(check(0xC0011029, 0x3, ctx(0)), MsrVerdict::Refuse);
    EXPECT_EQ(check(0xC0011029, 0x0, ctx(0x2)), MsrVerdict::Refuse);  // clearing it is refused too
}

TEST(MsrPolicy, SmmStateIsOutOfReach) {
    expect_rule(0x9E, MsrRead::Fault, MsrWrite::Fault);
    expect_rule(0x9B, MsrRead::Forward, MsrWrite::Fault);
    expect_rule(0x1F2, MsrRead::Forward, MsrWrite::Fault);
    expect_rule(0x1F3, MsrRead::Forward, MsrWrite::Fault);
    for (u32 msr : {0xC0010111u, 0xC0010112u, 0xC0010113u}) expect_rule(msr, MsrRead::Direct, MsrWrite::Fault);
    expect_rule(0xC0010116, MsrRead::Fault, MsrWrite::Fault);
}

TEST(MsrPolicy, VirtualizationControlsAreEmulatedOrAbsent) {
    expect_rule(0xC0000080, MsrRead::Emulate, MsrWrite::Emulate);
    expect_rule(0xC0010114, MsrRead::Emulate, MsrWrite::Fault);
    expect_rule(0xC0010117, MsrRead::Emulate, MsrWrite::Emulate);
    expect_rule(0x3A, MsrRead::Emulate, MsrWrite::Fault);
    for (u32 msr = 0x480; msr <= 0x493; ++msr) expect_rule(msr, MsrRead::Fault, MsrWrite::Fault);
}

TEST(MsrPolicy, TimeIsReadOnly) {
    for (u32 msr : {0x10u, 0x3Bu, 0xFEu, 0xE7u, 0xE8u}) expect_rule(msr, MsrRead::Direct, MsrWrite::Fault);
}

TEST(MsrPolicy, PowerAndThermalControlsAreTheGuests) {
    for (u32 msr : {0x140u, 0x19Bu, 0x1B0u, 0x1B2u, 0x1FCu}) expect_rule(msr, MsrRead::Direct, MsrWrite::Direct);
}

TEST(MsrPolicy, MiscEnableTakesOnlyWhatLinuxWrites) {
    expect_rule(0x1A0, MsrRead::Direct, MsrWrite::Check);
    constexpr u64 kFirmware = 0x850089 | (1ull << 22) | (1ull << 34);
    EXPECT_EQ(check(0x1A0, kFirmware, ctx(kFirmware)), MsrVerdict::Allow);             // unchanged
    EXPECT_EQ(check(0x1A0, kFirmware | 8, ctx(kFirmware)), MsrVerdict::Allow);         // TM1 on
    EXPECT_EQ(check(0x1A0, kFirmware & ~(1ull << 22), ctx(kFirmware)), MsrVerdict::Allow);  // CPUID limit off
    EXPECT_EQ(check(0x1A0, kFirmware & ~(1ull << 34), ctx(kFirmware)), MsrVerdict::Allow);  // XD disable off
    EXPECT_EQ(check(0x1A0, 0x89 | (1ull << 34), ctx(0x89)), MsrVerdict::Refuse);  // NX off for the monitor too
    EXPECT_EQ(check(0x1A0, 0x89 | (1ull << 22), ctx(0x89)), MsrVerdict::Refuse);
    EXPECT_EQ(check(0x1A0, 0x81, ctx(0x89)), MsrVerdict::Refuse);  // TM1 off
    EXPECT_EQ(check(0x1A0, 0x88, ctx(0x89)), MsrVerdict::Refuse);  // fast strings off
}

TEST(MsrPolicy, BranchTracingCannotRunInTheMonitor) {
    expect_rule(0x1D9, MsrRead::Emulate, MsrWrite::Check);
    expect_rule(0x600, MsrRead::Forward, MsrWrite::Fault);
    EXPECT_EQ(check(0x1D9, 0, ctx()), MsrVerdict::Ignore);
    EXPECT_EQ(check(0x1D9, 1, ctx()), MsrVerdict::Refuse);     // LBR
    EXPECT_EQ(check(0x1D9, 1u << 7, ctx()), MsrVerdict::Refuse);  // BTS
}

TEST(MsrPolicy, PatWritesAreValidAndKeepEntryZeroWriteBack) {
    EXPECT_EQ(check(0x277, 0x0007040600070406ull, ctx()), MsrVerdict::Allow);  // power-on
    EXPECT_EQ(check(0x277, 0x0407050600070106ull, ctx()), MsrVerdict::Allow);  // Linux's
    EXPECT_EQ(check(0x277, 0x0007040600070402ull, ctx()), MsrVerdict::Refuse);  // type 2 is reserved
    EXPECT_EQ(check(0x277, 0x0007040600070401ull, ctx()), MsrVerdict::Refuse);  // entry 0 WC
}

TEST(MsrPolicy, MtrrDefaultTypeStaysWriteBackOrUncached) {
    for (u32 msr : {0x200u, 0x21Fu, 0x250u, 0x258u, 0x259u, 0x268u, 0x26Fu, 0x2FFu})
        expect_rule(msr, MsrRead::Direct, MsrWrite::Check);
    expect_rule(0xFE, MsrRead::Direct, MsrWrite::Fault);
    EXPECT_EQ(check(0x2FF, 0xC06, ctx()), MsrVerdict::Allow);
    EXPECT_EQ(check(0x2FF, 0x006, ctx()), MsrVerdict::Allow);  // disabling MTRRs: all UC, only slower
    EXPECT_EQ(check(0x2FF, 0xC00, ctx()), MsrVerdict::Allow);
    EXPECT_EQ(check(0x2FF, 0xC01, ctx()), MsrVerdict::Refuse);  // WC for every uncovered byte
    EXPECT_EQ(check(0x2FF, 0xC04, ctx()), MsrVerdict::Refuse);  // WT
}

TEST(MsrPolicy, VariableMtrrCannotWeakenTheMonitorsMemory) {
    constexpr u64 kValid = 1ull << 11, k1GMask = 0xFFC0000000ull | kValid, k16MMask = 0xFFFF000000ull | kValid;
    // PHYSBASE0 with its mask already set: WC over the first GiB covers the monitor.
    EXPECT_EQ(check(0x200, 0x00000001, ctx(0, k1GMask)), MsrVerdict::Refuse);
    EXPECT_EQ(check(0x200, 0x00000006, ctx(0, k1GMask)), MsrVerdict::Allow);
    EXPECT_EQ(check(0x200, 0x00000000, ctx(0, k1GMask)), MsrVerdict::Allow);
    EXPECT_EQ(check(0x200, 0x40000001, ctx(0, k1GMask)), MsrVerdict::Allow);  // WC on the next GiB
    EXPECT_EQ(check(0x200, 0x1F000004, ctx(0, k16MMask)), MsrVerdict::Refuse);  // WT on its second half
    EXPECT_EQ(check(0x200, 0x20000004, ctx(0, k16MMask)), MsrVerdict::Allow);   // just past its end
    EXPECT_EQ(check(0x200, 0x00000001, ctx(0, k1GMask & ~kValid)), MsrVerdict::Allow);  // mask off
    EXPECT_EQ(check(0x200, 0x00000002, ctx(0, 0)), MsrVerdict::Refuse);  // reserved type
    // PHYSMASK1 that turns on a WC base already in PHYSBASE1.
    EXPECT_EQ(check(0x203, k1GMask, ctx(0, 0x00000001)), MsrVerdict::Refuse);
    EXPECT_EQ(check(0x203, k1GMask & ~kValid, ctx(0, 0x00000001)), MsrVerdict::Allow);
    EXPECT_EQ(check(0x203, k1GMask, ctx(0, 0x00000006)), MsrVerdict::Allow);
}

TEST(MsrPolicy, FixedMtrrsCheckTheirRanges) {
    EXPECT_EQ(check(0x250, 0x0606060606060606ull, ctx()), MsrVerdict::Allow);
    EXPECT_EQ(check(0x268, 0x0101010101010101ull, ctx()), MsrVerdict::Allow);  // WC below 1 MiB
    EXPECT_EQ(check(0x268, 0x0202020202020202ull, ctx()), MsrVerdict::Refuse);  // reserved type
    MsrWriteContext low = ctx();
    low.monitor = PhysRange{0xC4000, 0x1000};  // a monitor page in the range of 0x268's 5th byte
    EXPECT_EQ(check(0x268, 0x0000000100000000ull, low), MsrVerdict::Refuse);
    EXPECT_EQ(check(0x268, 0x0101010006010101ull, low), MsrVerdict::Allow);
}

TEST(MsrPolicy, EferTakesOnlySupportedBits) {
    u64 const amd = efer_supported(1u << 17, (1u << 11) | (1u << 20) | (1u << 25) | (1u << 29));
    u64 const intel = efer_supported(0, (1u << 11) | (1u << 20) | (1u << 29));
    u64 out = 0;
    EXPECT_TRUE(efer_write(0, 0xD01, intel, false, &out));
    EXPECT_EQ(out, 0x901u);  // LMA is the CPU's: the written bit is ignored
    EXPECT_TRUE(efer_write(0xD01, 0x901, intel, true, &out));
    EXPECT_EQ(out, 0xD01u);
    EXPECT_FALSE(efer_write(0, 1ull << 12, amd, false, &out));   // SVME: hidden
    EXPECT_FALSE(efer_write(0, 1ull << 14, intel, false, &out));  // FFXSR: AMD only
    EXPECT_TRUE(efer_write(0, 1ull << 14, amd, false, &out));
    EXPECT_FALSE(efer_write(0, 1ull << 2, amd, false, &out));   // reserved
    EXPECT_FALSE(efer_write(0, 1ull << 63, amd, false, &out));  // reserved
    EXPECT_FALSE(efer_write(0x501, 0x401, intel, true, &out));   // LME cleared under paging
    EXPECT_FALSE(efer_write(0x001, 0x101, intel, true, &out));   // LME set under paging
    EXPECT_TRUE(efer_write(0x001, 0x101, intel, false, &out));
}
