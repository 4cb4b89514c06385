// The IOAPIC guard (core/device/ioapic_guard): the guest's redirection entries never carry
// INIT, SMI or a reserved delivery mode, whatever the width or alignment of its writes, the
// modes a guest needs pass unchanged, and the guest's select survives the monitor's own use of
// the select register in between.
#include <gtest/gtest.h>

#include <map>

#include "core/device/ioapic_guard.hpp"

using namespace tv;

namespace {

class FakeIoApic final : public IoApicRegisters {
  public:
    u32 read(u32 off) override { return off == 0 ? sel : off == 0x10 ? regs[sel] : other[off]; }
    void write(u32 off, u32 v) override {
        if (off == 0) sel = v & 0xFF;
        else if (off == 0x10) regs[sel] = v;
        else other[off] = v;
    }
    u32 sel = 0;
    std::map<u32, u32> regs, other;
};

constexpr u32 kInitToApic0 = 5u << 8;  // INIT, physical, edge, unmasked
constexpr u32 kPin14Low = 0x10 + 2 * 14;

struct Guarded {
    FakeIoApic hw;
    IoApicGuard guard;
    IoApicGuard::Refusal r{};
    bool write(u32 off, u8 size, u64 v) { return guard.access(hw, off, size, true, &v, &r); }
    u64 read(u32 off, u8 size) {
        u64 v = 0;
        EXPECT_FALSE(guard.access(hw, off, size, false, &v, &r));
        return v;
    }
};

}  // namespace

TEST(IoApicGuard, AnInitEntryReachesTheDeviceAsAMaskedFixedOne) {
    Guarded g;
    EXPECT_FALSE(g.write(0x00, 4, kPin14Low + 1));
    EXPECT_FALSE(g.write(0x10, 4, 0));  // destination APIC 0: the high dword is anyone's
    EXPECT_FALSE(g.write(0x00, 4, kPin14Low));
    EXPECT_TRUE(g.write(0x10, 4, kInitToApic0 | 0x30));
    EXPECT_EQ(g.r.pin, 14);
    EXPECT_EQ(g.r.mode, Delivery::Init);
    EXPECT_EQ(g.hw.regs[kPin14Low], 0x30u | IoApicGuard::kMasked);
    EXPECT_EQ(g.guard.refusals(), 1u);
}

TEST(IoApicGuard, SmiAndReservedModesAreRefusedToo) {
    for (u32 mode : {2u, 3u, 6u}) {
        Guarded g;
        (void)g.write(0x00, 4, 0x10);
        EXPECT_TRUE(g.write(0x10, 4, mode << 8 | 0x41)) << mode;
        EXPECT_EQ(g.hw.regs[0x10] & kDeliveryMask, 0u);
        EXPECT_TRUE(g.hw.regs[0x10] & IoApicGuard::kMasked);
    }
}

TEST(IoApicGuard, FixedLowestNmiAndExtIntPassUnchanged) {
    for (u32 mode : {0u, 1u, 4u, 7u}) {
        Guarded g;
        (void)g.write(0x00, 1, 0x12);
        u32 const v = mode << 8 | 1u << 15 | 0x41;  // level-triggered, unmasked
        EXPECT_FALSE(g.write(0x10, 4, v)) << mode;
        EXPECT_EQ(g.hw.regs[0x12], v);
    }
}

TEST(IoApicGuard, TheHighDwordAndOtherRegistersAreNotDeliveryModes) {
    Guarded g;
    (void)g.write(0x00, 4, 0x11);  // entry 0, high dword: bits 10:8 are destination bits
    EXPECT_FALSE(g.write(0x10, 4, kInitToApic0));
    EXPECT_EQ(g.hw.regs[0x11], kInitToApic0);
    (void)g.write(0x00, 4, 0x00);  // the IOAPIC ID
    EXPECT_FALSE(g.write(0x10, 4, kInitToApic0));
    EXPECT_EQ(g.guard.refusals(), 0u);
}

TEST(IoApicGuard, NarrowAndUnalignedWritesAreMergedThenChecked) {
    Guarded g;
    (void)g.write(0x00, 4, kPin14Low);
    EXPECT_FALSE(g.write(0x10, 4, 0x00010030));  // masked, fixed, vector 0x30
    EXPECT_TRUE(g.write(0x11, 1, 0x05));          // byte 1: delivery mode INIT
    EXPECT_EQ(g.hw.regs[kPin14Low], 0x00010030u);
    EXPECT_TRUE(g.write(0x10, 2, 0x0530));
    EXPECT_EQ(g.hw.regs[kPin14Low] & kDeliveryMask, 0u);
    // An 8-byte write at 0x0C: a reserved dword, then the window.
    EXPECT_TRUE(g.write(0x0C, 8, static_cast<u64>(kInitToApic0) << 32));
    EXPECT_EQ(g.hw.regs[kPin14Low] & kDeliveryMask, 0u);
    EXPECT_EQ(g.guard.refusals(), 3u);
}

TEST(IoApicGuard, TheGuestSelectSurvivesTheMonitorsOwnUseOfTheSelectRegister) {
    Guarded g;
    (void)g.write(0x00, 4, kPin14Low);
    g.hw.sel = 0x20;  // the monitor read another entry in between and (here) did not restore
    EXPECT_TRUE(g.write(0x10, 4, kInitToApic0));
    EXPECT_EQ(g.hw.regs[0x20], 0u);
    EXPECT_EQ(g.hw.regs[kPin14Low] & kDeliveryMask, 0u);
    EXPECT_EQ(g.read(0x00, 4), kPin14Low);
    g.hw.regs[kPin14Low] = 0x1234;
    g.hw.sel = 0x20;
    EXPECT_EQ(g.read(0x10, 4), 0x1234u);
    EXPECT_EQ(g.read(0x11, 1), 0x12u);
}
