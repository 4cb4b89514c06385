// The AHCI mediator's per-register access counts: the classification of ABAR offsets, the
// counter names the guest reads, and that each guest access counts exactly once.
#include <string.h>

#include <set>
#include <string>

#include "tests/unit/test_ahci_fake.hpp"

using namespace tv;
using namespace tv::ata::ahci;
using namespace tv::ata::ahci::test;

TEST(AhciCounts, OffsetsMapToTheirRegisters) {
    EXPECT_EQ(reg_class(kCap), RegClass::Cap);
    EXPECT_EQ(reg_class(kGhc + 2), RegClass::Ghc);
    EXPECT_EQ(reg_class(kIs), RegClass::Is);
    EXPECT_EQ(reg_class(kPi), RegClass::Pi);
    EXPECT_EQ(reg_class(0x10), RegClass::HbaOther);
    EXPECT_EQ(reg_class(port_reg(0, kPxCi)), RegClass::PxCi);
    EXPECT_EQ(reg_class(port_reg(5, kPxSact) + 1), RegClass::PxSact);
    EXPECT_EQ(reg_class(port_reg(31, kPxIs)), RegClass::PxIs);
    EXPECT_EQ(reg_class(port_reg(1, kPxFbu)), RegClass::PxBases);
    EXPECT_EQ(reg_class(port_reg(2, kPxFbs)), RegClass::PxOther);
    EXPECT_EQ(reg_class(port_reg(31, 0x7C)), RegClass::PxOther);
    EXPECT_EQ(reg_class(port_reg(32, kPxCi)), RegClass::HbaOther);  // past the last port
}

TEST(AhciCounts, CounterNamesFitTheHypercallAndAreUnique) {
    std::set<std::string> seen;
    char name[17];
    for (u32 i = 0; i < kAccessCounters; ++i) {
        ASSERT_TRUE(access_counter_name(i, name, sizeof name));
        EXPECT_LE(strlen(name), 16u) << name;
        EXPECT_EQ(strncmp(name, "ahci.", 5), 0) << name;
        EXPECT_TRUE(seen.insert(name).second) << name;
    }
    EXPECT_FALSE(access_counter_name(kAccessCounters, name, sizeof name));
    EXPECT_FALSE(access_counter_name(0, name, 16));
    ASSERT_TRUE(access_counter_name(static_cast<u32>(RegClass::PxCi) * 2 + 1, name, sizeof name));
    EXPECT_STREQ(name, "ahci.px.ci.w");
    ASSERT_TRUE(access_counter_name(static_cast<u32>(RegClass::Is) * 2, name, sizeof name));
    EXPECT_STREQ(name, "ahci.is.r");
}

TEST(AhciCounts, EachGuestAccessCountsOnce) {
    FakeMachine m;
    MonitorMemory port_mem{kPortDmaBytes}, prd_mem{kPortPrdBytes}, pool_mem{16 * 4096};
    BouncePool pool;
    pool.init(pool_mem.dma(), 16);
    AhciHba hba;
    hba.init(&m, &pool);
    ASSERT_TRUE(hba.attach_port(0, port_mem.dma(), reinterpret_cast<PrdEntry*>(prd_mem.ptr)));
    EXPECT_EQ(hba.counts().total(), 0u);  // the mediator's own register accesses are not the guest's

    (void)hba.read_sized(kIs, 4);
    hba.write_sized(kIs, 4, 1);
    (void)hba.read_sized(port_reg(0, kPxClb), 8);           // split in two dword reads inside
    hba.write_sized(port_reg(0, kPxCmd) + 1, 1, 0);         // merged with a read of PxCMD inside
    (void)hba.read_sized(port_reg(0, kPxCi), 4);
    (void)hba.read_sized(port_reg(0, kPxCi), 2);

    EXPECT_EQ(hba.counts().get(RegClass::Is, false), 1u);
    EXPECT_EQ(hba.counts().get(RegClass::Is, true), 1u);
    EXPECT_EQ(hba.counts().get(RegClass::PxBases, false), 1u);
    EXPECT_EQ(hba.counts().get(RegClass::PxCmd, true), 1u);
    EXPECT_EQ(hba.counts().get(RegClass::PxCmd, false), 0u);
    EXPECT_EQ(hba.counts().get(RegClass::PxCi, false), 2u);
    EXPECT_EQ(hba.counts().total(), 6u);
}
