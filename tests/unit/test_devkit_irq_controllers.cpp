// The monitor's interrupt controllers at register level (core/device/irq_controllers), against
// a fake IOAPIC (select/window pair) and a fake local APIC (xAPIC page and x2APIC MSRs): the
// guest's IOAPIC select and ICR high half are put back, each APIC mode gets the right write,
// and an xAPIC page moved over the monitor's region is never written; the IOAPIC's registers
// are reached only under the IOAPIC hook's device lock (counted by the fake).
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "core/device/irq_controllers.hpp"

using namespace tv;

namespace {

constexpr u64 kIoApic = ApicControllers::kIoApicBase;
constexpr u64 kXapic = 0xFEE00000;
constexpr u64 kMonBase = 0x1DE00000, kMonSize = 32ull << 20;

class FakeApics final : public InterruptRegisters {
  public:
    u32 mmio_read(u64 phys) override {
        count_lock(phys);
        if (phys == kIoApic) return ioregsel;
        if (phys == kIoApic + 0x10) return ioapic[ioregsel];
        return page[phys];
    }
    void mmio_write(u64 phys, u32 v) override {
        count_lock(phys);
        if (phys == kIoApic) ioregsel = v;
        else if (phys == kIoApic + 0x10) ioapic[ioregsel] = v;
        else {
            page[phys] = v;
            writes.push_back({phys, v});
        }
    }
    u64 rdmsr(u32 msr) override { return msrs[msr]; }
    void wrmsr(u32 msr, u64 v) override {
        msrs[msr] = v;
        msr_writes.push_back({msr, v});
    }

    // Lock accounting, as the mocks' mmio_device_access keeps it: IOAPIC accesses made
    // without the IOAPIC hook's device held.
    void count_lock(u64 phys) {
        if (phys >= kIoApic && phys < kIoApic + 0x1000) {
            ++ioapic_accesses;
            if (!ioapic_device.locked()) ++ioapic_unlocked;
        }
    }
    Device ioapic_device{"ioapic"};
    u32 ioapic_accesses = 0, ioapic_unlocked = 0;

    u32 ioregsel = 0;
    std::map<u32, u32> ioapic;
    std::map<u64, u32> page;
    std::vector<std::pair<u64, u32>> writes;
    std::map<u32, u64> msrs{{0x1B, kXapic | (1u << 11)}};  // xAPIC enabled at its default address
    std::vector<std::pair<u32, u64>> msr_writes;
};

class ApicControllersTest : public ::testing::Test {
  protected:
    void SetUp() override { apic.exclude(kMonBase, kMonSize); }
    FakeApics hw;
    ApicControllers apic{hw, hw.ioapic_device};
};

TEST_F(ApicControllersTest, IoApicEntryIsReadAndTheGuestsSelectPutBack) {
    hw.ioapic[0x10 + 2 * 14] = 0x3E;
    hw.ioregsel = 0x12;  // the guest was between its select and its window access
    EXPECT_EQ(apic.ioapic_entry_low(14), 0x3Eu);
    EXPECT_EQ(hw.ioregsel, 0x12u);
}

// The guest's IOAPIC accesses run under its hook's lock on any CPU (core/device/ioapic_guard):
// a monitor read outside it could interleave with one and read or write the wrong register.
TEST_F(ApicControllersTest, IoApicEntryIsReadUnderTheIoApicHooksLock) {
    hw.ioapic[0x10 + 2 * 14] = 0x3E;
    EXPECT_EQ(apic.ioapic_entry_low(14), 0x3Eu);
    EXPECT_EQ(hw.ioapic_accesses, 4u);  // select saved, set, window read, select put back
    EXPECT_EQ(hw.ioapic_unlocked, 0u);
    EXPECT_FALSE(hw.ioapic_device.locked());  // and released
}

TEST_F(ApicControllersTest, XapicSelfIpiWritesIcrLowWithTheSelfShorthand) {
    ASSERT_TRUE(apic.send_ipi(IpiMessage{0x3E, true, false, false, 0}));
    ASSERT_EQ(hw.writes.size(), 1u);
    EXPECT_EQ(hw.writes[0].first, kXapic + 0x300);
    EXPECT_EQ(hw.writes[0].second, (1u << 18) | 0x3E);
}

TEST_F(ApicControllersTest, XapicDestinationIpiPutsTheGuestsIcrHighBack) {
    hw.page[kXapic + 0x310] = 0x07000000;  // the guest's own destination, written, not yet sent
    ASSERT_TRUE(apic.send_ipi(IpiMessage{0x41, false, true, true, 3}));
    ASSERT_EQ(hw.writes.size(), 3u);
    EXPECT_EQ(hw.writes[0], (std::pair<u64, u32>{kXapic + 0x310, 3u << 24}));
    EXPECT_EQ(hw.writes[1], (std::pair<u64, u32>{kXapic + 0x300, (1u << 11) | (1u << 8) | 0x41}));
    EXPECT_EQ(hw.page[kXapic + 0x310], 0x07000000u);
}

TEST_F(ApicControllersTest, X2apicUsesItsMsrs) {
    hw.msrs[0x1B] = kXapic | (1u << 11) | (1u << 10);
    ASSERT_TRUE(apic.send_ipi(IpiMessage{0x3E, true, false, false, 0}));
    ASSERT_TRUE(apic.send_ipi(IpiMessage{0x41, false, false, false, 0x12}));
    ASSERT_EQ(hw.msr_writes.size(), 2u);
    EXPECT_EQ(hw.msr_writes[0], (std::pair<u32, u64>{0x83F, 0x3E}));
    EXPECT_EQ(hw.msr_writes[1], (std::pair<u32, u64>{0x830, (u64{0x12} << 32) | 0x41}));
    EXPECT_TRUE(hw.writes.empty());
}

TEST_F(ApicControllersTest, XapicPageOverTheMonitorIsNeverWritten) {
    for (u64 page : {kMonBase, kMonBase + kMonSize - 4096, kMonBase + 0x100000}) {
        hw.msrs[0x1B] = page | (1u << 11);
        EXPECT_FALSE(apic.send_ipi(IpiMessage{0x3E, true, false, false, 0})) << std::hex << page;
        EXPECT_FALSE(apic.send_ipi(IpiMessage{0x41, false, false, false, 1})) << std::hex << page;
    }
    EXPECT_TRUE(hw.writes.empty());
    EXPECT_EQ(apic.refusals(), 6u);
    hw.msrs[0x1B] = (kMonBase - 4096) | (1u << 11);  // the page just below the region is the guest's
    EXPECT_TRUE(apic.send_ipi(IpiMessage{0x3E, true, false, false, 0}));
    hw.msrs[0x1B] = (kMonBase + kMonSize) | (1u << 11);  // and the one just above
    EXPECT_TRUE(apic.send_ipi(IpiMessage{0x3E, true, false, false, 0}));
}

TEST_F(ApicControllersTest, AnIrqLineThroughTheControllersReachesTheApic) {
    hw.ioapic[0x10 + 2 * 14] = 0x3E;
    IrqLine line = IrqLine::ioapic(14);
    EXPECT_EQ(line.raise(apic), IrqResult::Sent);
    ASSERT_EQ(hw.writes.size(), 1u);
    EXPECT_EQ(hw.writes[0].second, (1u << 18) | 0x3E);
    hw.msrs[0x1B] = kMonBase | (1u << 11);
    EXPECT_EQ(line.raise(apic), IrqResult::Refused);
    EXPECT_EQ(line.counters().refused, 1u);
}

}  // namespace
