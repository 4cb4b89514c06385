// MSI data registers never take INIT, SMI or a reserved delivery mode (drivers/pci/msi_guard):
// the capability is found by a bounded walk, and every write width that reaches the mode's
// byte is checked.
#include <gtest/gtest.h>

#include <map>

#include "drivers/pci/msi_guard.hpp"
#include "tests/unit/fake_vcpu.hpp"

using namespace tv;
using namespace tv::pci;

namespace {

constexpr Bdf kAhci{0, 0x1F, 2};

class FakeSpace final : public ConfigSpace {
  public:
    u32 read32(Bdf, u16 reg) override { return regs.count(reg) ? regs[reg] : 0; }
    void write32(Bdf, u16 reg, u32 v) override { regs[reg] = v; }
    std::map<u16, u32> regs;
};

// Status has the capability list; 0x34 -> 0x50 (power management) -> 0x80 (MSI, 64-bit).
FakeSpace with_msi() {
    FakeSpace s;
    s.regs[0x04] = 0x00100007;
    s.regs[0x34] = 0x50;
    s.regs[0x50] = 0x8001;
    s.regs[0x80] = 0x00800005;
    return s;
}

class RecordingBus final : public ConfigBus {
  public:
    u32 read(Bdf, u16, u8) override { return 0; }
    void write(Bdf, u16 reg, u8, u32 value) override { last_reg = reg, last = value; }
    u16 last_reg = 0;
    u32 last = 0;
};

}  // namespace

TEST(PciMsiGuard, FindsTheCapabilityThroughTheList) {
    FakeSpace s = with_msi();
    EXPECT_EQ(find_capability(s, kAhci, kCapMsi), 0x80);
    EXPECT_EQ(find_capability(s, kAhci, 0x01), 0x50);
    EXPECT_EQ(find_capability(s, kAhci, kCapMsix), 0);
    EXPECT_EQ(msi_data_reg(0x80, 0x0080), 0x8C);  // 64-bit address
    EXPECT_EQ(msi_data_reg(0x80, 0x0000), 0x88);
}

TEST(PciMsiGuard, AMalformedListEndsTheWalk) {
    FakeSpace s = with_msi();
    s.regs[0x50] = 0x5001;  // links to itself
    EXPECT_EQ(find_capability(s, kAhci, kCapMsi), 0);
    s.regs[0x34] = 0x20;  // into the header
    EXPECT_EQ(find_capability(s, kAhci, 0x01), 0);
    s.regs[0x04] = 0x00000007;  // no capability list at all
    s.regs[0x34] = 0x50;
    EXPECT_EQ(find_capability(s, kAhci, 0x01), 0);
}

TEST(PciMsiGuard, InitAndSmiAreMadeFixedAtEveryWidth) {
    Delivery mode{};
    u32 v = 0x0531;  // INIT, vector 0x31
    EXPECT_TRUE(strip_msi_delivery(0x8C, 0x8C, 2, &v, &mode));
    EXPECT_EQ(v, 0x0031u);
    EXPECT_EQ(mode, Delivery::Init);
    v = 0xABCD0231;  // SMI, with extended data above
    EXPECT_TRUE(strip_msi_delivery(0x8C, 0x8C, 4, &v, &mode));
    EXPECT_EQ(v, 0xABCD0031u);
    EXPECT_EQ(mode, Delivery::Smi);
    v = 0x05;  // the mode's byte alone
    EXPECT_TRUE(strip_msi_delivery(0x8C, 0x8D, 1, &v, &mode));
    EXPECT_EQ(v, 0u);
    v = 0x06050000;  // a dword at 0x8A covering the data's mode byte at 0x8D: byte 3
    EXPECT_TRUE(strip_msi_delivery(0x8C, 0x8A, 4, &v, &mode));
    EXPECT_EQ(v, 0x00050000u);
}

TEST(PciMsiGuard, FixedLowestNmiExtIntAndOtherBytesPass) {
    Delivery mode{};
    for (u32 m : {0u, 1u, 4u, 7u}) {
        u32 v = m << 8 | 0x41;
        EXPECT_FALSE(strip_msi_delivery(0x88, 0x88, 2, &v, &mode)) << m;
        EXPECT_EQ(v, m << 8 | 0x41);
    }
    u32 v = 0x05;  // the vector byte: not the mode
    EXPECT_FALSE(strip_msi_delivery(0x88, 0x88, 1, &v, &mode));
    v = 0x0500;  // the message address's upper half
    EXPECT_FALSE(strip_msi_delivery(0x8C, 0x88, 2, &v, &mode));
}

TEST(PciMsiGuard, TheHookPassesTheWriteOnWithTheModeFixed) {
    Device dev{"t"};
    MsiGate gate{kAhci, 0x8C, 0, nullptr, nullptr, 0x80};
    ConfigRouter r;
    ASSERT_EQ(r.add(ConfigHook{kAhci, 0x8C, 2, msi_gate, &gate, "msi", 0, &dev}), Status::Ok);
    RecordingBus bus;
    test::FakeVcpu vcpu;
    u32 v = 0x0530;
    EXPECT_TRUE(r.route(vcpu, kAhci, 0x8C, 4, true, &v, bus));
    EXPECT_EQ(bus.last, 0x0030u);
    EXPECT_EQ(gate.refusals, 1u);
    v = 0x0130;
    EXPECT_TRUE(r.route(vcpu, kAhci, 0x8C, 2, true, &v, bus));
    EXPECT_EQ(bus.last, 0x0130u);
    EXPECT_EQ(gate.refusals, 1u);
}

struct Seen {
    static void on(MsiGate&, u16 reg, u8 size, u32 value) { last_reg = reg, last_size = size, last_value = value, ++count; }
    static inline u16 last_reg = 0;
    static inline u8 last_size = 0;
    static inline u32 last_value = 0;
    static inline int count = 0;
};

// The interrupt remapping unit learns each MSI write as it reaches the device (the refused mode
// made fixed), so an INIT can never become a remapping table entry.
TEST(PciMsiGuard, EveryWriteIsReportedAsItReachesTheDevice) {
    Device dev{"t"};
    MsiGate gate{kAhci, 0x8C, 0, nullptr, Seen::on, 0x80};
    ConfigRouter r;
    ASSERT_EQ(r.add(ConfigHook{kAhci, 0x82, 0x0C, msi_gate, &gate, "msi", 0, &dev}), Status::Ok);
    RecordingBus bus;
    test::FakeVcpu vcpu;
    u32 v = 0xFEE01004;  // the address
    EXPECT_TRUE(r.route(vcpu, kAhci, 0x84, 4, true, &v, bus));
    EXPECT_EQ(Seen::last_reg, 0x84);
    EXPECT_EQ(Seen::last_value, 0xFEE01004u);
    v = 0x0531;  // data with INIT: reported as the fixed message the device gets
    EXPECT_TRUE(r.route(vcpu, kAhci, 0x8C, 2, true, &v, bus));
    EXPECT_EQ(Seen::last_reg, 0x8C);
    EXPECT_EQ(Seen::last_size, 2);
    EXPECT_EQ(Seen::last_value, 0x0031u);
    int const before = Seen::count;
    EXPECT_TRUE(r.route(vcpu, kAhci, 0x8C, 2, false, &v, bus));
    EXPECT_EQ(Seen::count, before);  // reads are not messages
}

TEST(PciMsixGuard, TheModeByteOfEveryEntryIsChecked) {
    Delivery mode{};
    constexpr u64 kTable = 0x2000, kLen = 4 * 16;
    u64 v = 0x0531;  // entry 1's data, 32 bits: INIT
    EXPECT_TRUE(strip_msix_delivery(kTable, kLen, kTable + 16 + 8, 4, &v, &mode));
    EXPECT_EQ(v, 0x0031u);
    EXPECT_EQ(mode, Delivery::Init);
    v = 0x00000001'00000241ull;  // data (SMI) and vector control (masked) in one 8-byte write
    EXPECT_TRUE(strip_msix_delivery(kTable, kLen, kTable + 3 * 16 + 8, 8, &v, &mode));
    EXPECT_EQ(v, 0x00000001'00000041ull);
    v = 0x05;  // the mode byte alone
    EXPECT_TRUE(strip_msix_delivery(kTable, kLen, kTable + 9, 1, &v, &mode));
    EXPECT_EQ(v, 0u);
}

TEST(PciMsixGuard, AddressesVectorControlFixedModesAndBytesOutsideTheTablePass) {
    Delivery mode{};
    constexpr u64 kTable = 0x2000, kLen = 2 * 16;
    u64 v = 0x0500'0500'0500'0500ull;  // address low and high of entry 0
    EXPECT_FALSE(strip_msix_delivery(kTable, kLen, kTable, 8, &v, &mode));
    v = 0x0441;  // NMI
    EXPECT_FALSE(strip_msix_delivery(kTable, kLen, kTable + 8, 4, &v, &mode));
    v = 0x0531;  // where entry 2's data would be: past the table (the PBA, other registers)
    EXPECT_FALSE(strip_msix_delivery(kTable, kLen, kTable + 2 * 16 + 8, 4, &v, &mode));
    EXPECT_EQ(v, 0x0531u);
    v = 0x0531;  // before the table
    EXPECT_FALSE(strip_msix_delivery(kTable, kLen, kTable - 8, 4, &v, &mode));
}
