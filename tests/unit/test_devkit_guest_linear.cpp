// The one guest page walk over the one rule (core/device/guest_linear): paging structures and
// data are reached only where the rule allows, and the walk's reserved-bit check uses the
// same MAXPHYADDR the rule stops at (string I/O once walked with 52 bits, MMIO with CPUID's).
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "core/device/guest_linear.hpp"

using namespace tv;

namespace {

constexpr u64 kMiB = 1ull << 20;
constexpr u64 P = 1, RW = 2;
constexpr u64 kMonBase = 1 * kMiB, kMonSize = 1 * kMiB;  // [1 MiB, 2 MiB): the monitor's, in this test
constexpr u64 kPml4 = 0x10000, kPdpt = 0x11000, kPd = 0x12000, kPt = 0x13000;

// A 64-bit guest at CPL 0 with 4-level paging rooted at kPml4.
class LongModeVcpu final : public Vcpu {
  public:
    LongModeVcpu() : Vcpu(0) {}
    ExitRecord run() override { return ExitRecord{}; }
    u64 rip() const override { return 0; }
    void set_rip(u64) override {}
    u64 rflags() const override { return 2; }
    void set_rflags(u64) override {}
    u64 cr0() const override { return kCr0Pe | kCr0Pg | kCr0Wp; }
    u64 cr3() const override { return kPml4; }
    u64 cr4() const override { return kCr4Pae; }
    u64 efer() const override { return kEferLma | kEferNxe; }
    void set_efer(u64) override {}
    Segment segment(SegReg) const override { return Segment{}; }
    u8 cpl() const override { return 0; }
    void inject_exception(u8, bool, u32) override {}
    void set_single_step(bool) override {}
    void flush_nested_tlb() override {}
};

class GuestLinearTest : public ::testing::Test {
  protected:
    void SetUp() override {
        MemoryMap m;
        ASSERT_TRUE(ok(m.add(0, 0x9FC00, MemType::Usable)));
        ASSERT_TRUE(ok(m.add(kMiB, 7 * kMiB, MemType::Usable)));
        m.normalize();
        ASSERT_TRUE(ok(mem.init(m, kMonBase, kMonSize, 39, ram.data())));
        put(kPml4, kPdpt | P | RW);
        put(kPdpt, kPd | P | RW);
        put(kPd, kPt | P | RW);
    }
    void put(u64 gpa, u64 v) { memcpy(&ram[gpa], &v, 8); }
    void map(u64 page_index, u64 gpa) { put(kPt + 8 * page_index, gpa | P | RW); }

    std::vector<u8> ram = std::vector<u8>(2 * kMiB, 0);
    GuestMemory mem;
    LongModeVcpu v;
};

TEST_F(GuestLinearTest, UsesTheRulesMaxPhyAddrForReservedBits) {
    EXPECT_EQ(guest_paging_state(v, mem).maxphyaddr, 39);
    map(0, 1ull << 39);  // an address bit the CPU does not have: reserved, so #PF with RSVD
    GuestLinear lin{v, mem};
    Translation t;
    ASSERT_EQ(lin.translate(0, GuestAccess{false, false}, &t), WalkStatus::PageFault);
    EXPECT_TRUE(t.pf_error & kPfReserved);
}

TEST_F(GuestLinearTest, CopiesThroughPagingIntoGuestRam) {
    map(0, 0x20000);
    map(1, 0x30000);
    GuestLinear lin{v, mem};
    u8 data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ASSERT_TRUE(lin.copy(0xFFC, data, 8, true, false));  // across two guest pages
    EXPECT_EQ(memcmp(&ram[0x20FFC], data, 4), 0);
    EXPECT_EQ(memcmp(&ram[0x30000], data + 4, 4), 0);
}

TEST_F(GuestLinearTest, RefusesDataInTheMonitorRegion) {
    map(0, 0x20000);
    map(1, kMonBase);  // the guest's own tables alias the monitor's first page
    GuestLinear lin{v, mem};
    u8 buf[8]{};
    EXPECT_FALSE(lin.copy(0xFFC, buf, 8, false, false));
    EXPECT_FALSE(lin.copy(0x1000, nullptr, 1, false, false));
    map(1, kMonBase + kMonSize - kPageSize);  // and its last page
    EXPECT_FALSE(lin.copy(0x1FFF, nullptr, 1, true, false));
}

TEST_F(GuestLinearTest, RefusesPagingStructuresInTheMonitorRegion) {
    put(kPd, kMonBase | P | RW);  // the page table itself inside the monitor
    GuestLinear lin{v, mem};
    Translation t;
    EXPECT_EQ(lin.translate(0, GuestAccess{false, false}, &t), WalkStatus::Unreadable);
}

}  // namespace
