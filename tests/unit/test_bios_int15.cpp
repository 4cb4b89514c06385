// The BIOS services' writes into guest memory: the E820 entry at ES:DI and the carry flag in
// the caller's stacked FLAGS at SS:SP+4. Segment bases come from the guest, and unreal mode
// makes them any address below 4 GiB: each write must pass the guest-memory rule, and one
// that does not is logged and not done.
#include <gtest/gtest.h>

#include <string.h>

#include <vector>

#include "core/handlers/bios_int15.hpp"
#include "tests/unit/fake_guest_ram.hpp"
#include "tests/unit/fake_vcpu.hpp"

using namespace tv;

namespace {

constexpr u64 kRamEnd = 0x400000;                              // guest RAM: [0, 4 MiB)
constexpr u64 kHiddenBase = 0x200000, kHiddenEnd = 0x300000;  // the monitor's, inside it
constexpr u32 kSmap = 0x534D4150;

class FakeBiosMemory final : public BiosMemory, public fakes::LogLines {
  public:
    bool guest_ram(u64 gpa, u64 bytes) override {
        return fakes::in_guest_ram(gpa, bytes, kRamEnd, kHiddenBase, kHiddenEnd);
    }
    u8* guest_ptr(u64 gpa) override { return phys.data() + gpa; }
    void log(char const* fmt, ...) override {
        va_list ap;
        va_start(ap, fmt);
        add(fmt, ap);
        va_end(ap);
    }
    bool untouched(u64 from, u64 to) const {
        for (u64 i = from; i < to; ++i)
            if (phys[i] != 0xA5) return false;
        return true;
    }
    std::vector<u8> phys = std::vector<u8>(kRamEnd, 0xA5);  // the monitor's range too, to see writes
};

MemoryMap two_ranges() {
    MemoryMap m;
    EXPECT_EQ(m.add(0, 0x9FC00, MemType::Usable), Status::Ok);
    EXPECT_EQ(m.add(0x100000, 0x1F00000, MemType::Usable), Status::Ok);
    m.normalize();
    return m;
}

// A caller in (un)real mode: SS:SP holds the INT's IP, CS, FLAGS; ES:DI the E820 buffer.
void caller(test::FakeVcpu& v, u64 ss_base, u16 sp, u64 es_base, u16 di) {
    v.segs_[static_cast<int>(SegReg::Ss)].base = ss_base;
    v.segs_[static_cast<int>(SegReg::Es)].base = es_base;
    v.set_reg(Reg::Rsp, sp);
    v.set_reg(Reg::Rdi, di);
    v.set_reg(Reg::Rax, 0xE820);
    v.set_reg(Reg::Rbx, 0);
    v.set_reg(Reg::Rcx, 20);
    v.set_reg(Reg::Rdx, kSmap);
}

u16 stacked_flags(FakeBiosMemory& mem, u64 at) {
    u16 f;
    memcpy(&f, mem.phys.data() + at, 2);
    return f;
}

}  // namespace

TEST(BiosInt15, E820WritesTheEntryAndClearsTheStackedCarry) {
    FakeBiosMemory mem;
    test::FakeVcpu v;
    caller(v, 0x7000, 0xFF00, 0x8000, 0x10);
    bios_e820(v, mem, two_ranges());
    E820Entry e;
    memcpy(&e, mem.phys.data() + 0x8010, sizeof e);
    EXPECT_EQ(e.base, 0u);
    EXPECT_EQ(e.length, 0x9FC00u);
    EXPECT_EQ(v.reg(Reg::Rax) & 0xFFFFFFFF, kSmap);
    EXPECT_EQ(v.reg(Reg::Rbx), 1u);  // the next entry's index
    EXPECT_EQ(stacked_flags(mem, 0x7000 + 0xFF04) & 1, 0);
}

TEST(BiosInt15, AnUnrealModeBufferInTheMonitorsRegionIsRefusedAndNotWritten) {
    FakeBiosMemory mem;
    test::FakeVcpu v;
    caller(v, 0x7000, 0xFF00, kHiddenBase + 0x1000, 0);  // ES base from protected mode
    bios_e820(v, mem, two_ranges());
    EXPECT_TRUE(mem.untouched(kHiddenBase, kHiddenEnd));
    EXPECT_EQ(v.reg(Reg::Rax) & 0xFF00, 0x8600u);      // AH=86h
    EXPECT_EQ(stacked_flags(mem, 0x7000 + 0xFF04) & 1, 1);  // carry: the caller sees a failure
    EXPECT_TRUE(mem.logged("E820 buffer"));
}

TEST(BiosInt15, ABufferStraddlingTheMonitorsRegionIsRefused) {
    FakeBiosMemory mem;
    test::FakeVcpu v;
    caller(v, 0x7000, 0xFF00, kHiddenBase - 8, 0);
    bios_e820(v, mem, two_ranges());
    EXPECT_TRUE(mem.untouched(kHiddenBase - 8, kHiddenEnd));
}

TEST(BiosInt15, AStackInTheMonitorsRegionGetsNoCarryWritten) {
    FakeBiosMemory mem;
    test::FakeVcpu v;
    caller(v, kHiddenBase + 0x4000, 0x100, 0x8000, 0);  // SS base from protected mode
    EXPECT_FALSE(bios_set_stacked_carry(v, mem, true));
    bios_e820(v, mem, two_ranges());
    EXPECT_TRUE(mem.untouched(kHiddenBase, kHiddenEnd));
    EXPECT_TRUE(mem.logged("stacked FLAGS"));
}

TEST(BiosInt15, AddressesAboveGuestRamAreRefused) {
    FakeBiosMemory mem;
    test::FakeVcpu v;
    caller(v, 0xFFFF0000, 0xFFF0, 0xFEE00000, 0);  // device memory (here: past the fake's RAM)
    bios_e820(v, mem, two_ranges());
    EXPECT_TRUE(mem.logged("E820 buffer"));
    EXPECT_TRUE(mem.logged("stacked FLAGS"));
}
