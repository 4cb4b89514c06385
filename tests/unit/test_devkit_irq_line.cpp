// IrqLine (core/device/irq_line) against a fake IOAPIC and local APIC: the IOAPIC route
// follows the guest's redirection entry, the MSI route the guest's message, and neither lets
// the guest make the monitor send an exception vector or an INIT/NMI/SMI.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "core/device/irq_line.hpp"

using namespace tv;

namespace {

class FakeControllers final : public IrqControllers {
  public:
    u32 ioapic_entry_low(u32 gsi) override {
        ++ioapic_reads;
        auto it = entries.find(gsi);
        return it == entries.end() ? 1u << 16 : it->second;  // reset state: masked
    }
    bool send_ipi(IpiMessage const& m) override {
        if (!apic_reachable) return false;
        sent.push_back(m);
        return true;
    }

    std::map<u32, u32> entries;
    std::vector<IpiMessage> sent;
    bool apic_reachable = true;
    int ioapic_reads = 0;
};

constexpr u32 kMasked = 1u << 16;

TEST(IrqLine, IoApicRouteSendsTheGuestsVectorToThisCpu) {
    FakeControllers hw;
    hw.entries[14] = 0x3E;  // fixed, edge, unmasked, vector 0x3E
    IrqLine line = IrqLine::ioapic(14);
    EXPECT_EQ(line.raise(hw), IrqResult::Sent);
    ASSERT_EQ(hw.sent.size(), 1u);
    EXPECT_EQ(hw.sent[0].vector, 0x3E);
    EXPECT_TRUE(hw.sent[0].self);
    EXPECT_FALSE(hw.sent[0].lowest);
    EXPECT_EQ(line.counters().sent, 1u);
}

TEST(IrqLine, IoApicRouteReadsTheEntryAtEveryRaise) {
    FakeControllers hw;
    hw.entries[14] = 0x3E;
    IrqLine line = IrqLine::ioapic(14);
    EXPECT_EQ(line.raise(hw), IrqResult::Sent);
    hw.entries[14] = 0x51;  // the guest re-routed the line
    EXPECT_EQ(line.raise(hw), IrqResult::Sent);
    ASSERT_EQ(hw.sent.size(), 2u);
    EXPECT_EQ(hw.sent[1].vector, 0x51);
    EXPECT_EQ(hw.ioapic_reads, 2);
}

TEST(IrqLine, MaskedIoApicEntrySendsNothing) {
    FakeControllers hw;
    hw.entries[14] = kMasked | 0x3E;
    IrqLine line = IrqLine::ioapic(14);
    EXPECT_EQ(line.raise(hw), IrqResult::Masked);
    EXPECT_TRUE(hw.sent.empty());
    EXPECT_EQ(line.counters().masked, 1u);
}

TEST(IrqLine, ExceptionVectorsAreRefusedOnBothRoutes) {
    FakeControllers hw;
    hw.entries[14] = 0x0E;  // the guest aims IRQ 14 at #PF
    IrqLine a = IrqLine::ioapic(14);
    EXPECT_EQ(a.raise(hw), IrqResult::Refused);
    IrqLine b = IrqLine::msi();
    b.set_msi(0xFEE00000, 0x1F, true);
    EXPECT_EQ(b.raise(hw), IrqResult::Refused);
    EXPECT_TRUE(hw.sent.empty());
    EXPECT_EQ(a.counters().refused, 1u);
}

TEST(IrqLine, MsiSendsTheMessagesDestinationAndVector) {
    FakeControllers hw;
    IrqLine line = IrqLine::msi();
    line.set_msi(0xFEE03004, 0x0141, true);  // destination 3, logical; lowest priority, vector 0x41
    EXPECT_EQ(line.raise(hw), IrqResult::Sent);
    ASSERT_EQ(hw.sent.size(), 1u);
    IpiMessage const& m = hw.sent[0];
    EXPECT_FALSE(m.self);
    EXPECT_EQ(m.dest, 3u);
    EXPECT_TRUE(m.logical);
    EXPECT_TRUE(m.lowest);
    EXPECT_EQ(m.vector, 0x41);
    EXPECT_EQ(hw.ioapic_reads, 0);
}

TEST(IrqLine, MsiIsMaskedUntilEnabled) {
    FakeControllers hw;
    IrqLine line = IrqLine::msi();
    EXPECT_EQ(line.raise(hw), IrqResult::Masked);
    line.set_msi(0xFEE00000, 0x41, false);
    EXPECT_EQ(line.raise(hw), IrqResult::Masked);
    EXPECT_TRUE(hw.sent.empty());
}

TEST(IrqLine, MsiCannotAskForInitNmiSmiOrExtInt) {
    FakeControllers hw;
    IrqLine line = IrqLine::msi();
    for (u32 mode : {2u, 4u, 5u, 6u, 7u}) {  // SMI, NMI, INIT, (SIPI-like reserved), ExtINT
        line.set_msi(0xFEE00000, mode << 8 | 0x41, true);
        EXPECT_EQ(line.raise(hw), IrqResult::Refused) << mode;
    }
    EXPECT_TRUE(hw.sent.empty());
    EXPECT_EQ(line.counters().refused, 5u);
}

TEST(IrqLine, MsiAddressOutsideTheInterruptWindowIsRefused) {
    FakeControllers hw;
    IrqLine line = IrqLine::msi();
    line.set_msi(0x12345000, 0x41, true);  // a memory write, not an interrupt message
    EXPECT_EQ(line.raise(hw), IrqResult::Refused);
    EXPECT_TRUE(hw.sent.empty());
}

TEST(IrqLine, UnreachableApicCountsAsRefused) {
    FakeControllers hw;
    hw.apic_reachable = false;  // e.g. the guest moved the APIC page over monitor memory
    hw.entries[14] = 0x3E;
    IrqLine line = IrqLine::ioapic(14);
    EXPECT_EQ(line.raise(hw), IrqResult::Refused);
    EXPECT_EQ(line.counters().sent, 0u);
    EXPECT_EQ(line.counters().refused, 1u);
}

}  // namespace
