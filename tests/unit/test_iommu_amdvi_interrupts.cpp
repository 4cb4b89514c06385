// AMD-Vi interrupt remapping (issue 12, iommu-msi-init-by-dma): the device table entry's
// interrupt fields drop INIT and SMI from every source; a fixed or lowest-priority message gets
// through only where the guest programmed it (the IRTE built from its MSI address/data or IOAPIC
// entry), and then as exactly that message; an empty table drops them all.
#include <gtest/gtest.h>

#include <vector>

#include "drivers/iommu/amdvi_interrupts.hpp"
#include "drivers/iommu/amdvi_tables.hpp"

using namespace tv;
using namespace tv::iommu;

namespace {

struct Source {
    std::vector<u32> table = std::vector<u32>(kIrtEntries, 0);
    u64 q2 = amdvi_dte_interrupts(0x12345000);
    void add(IrtEntry e) { table.at(e.index) = e.value; }
    bool deliver(u32 data, Delivered* d) { return amdvi_remap(q2, table.data(), data, d); }
};

}  // namespace

TEST(IommuAmdViInterrupts, EntryFieldsAreTheSpecsAndQemusLayout) {
    u64 const q2 = amdvi_dte_interrupts(0x12345000);
    EXPECT_EQ(q2 & 1, 1u);                          // IV
    EXPECT_EQ((q2 >> 1) & 0xF, 11u);                // IntTabLen: 2^11 entries
    EXPECT_EQ(q2 & 0x000FFFFFFFFFFFC0ull, 0x12345000u);  // IntTableRootPtr
    EXPECT_EQ((q2 >> 56) & 1, 0u);                  // InitPass clear
    EXPECT_EQ((q2 >> 60) & 3, 2u);                  // IntCtl: remapped
    EXPECT_EQ(q2 & 0x08F0000000000000ull, 0u);      // bits QEMU 7.2 refuses
    IrtEntry e{};
    ASSERT_TRUE(amdvi_irte_for_msi(0xFEE01004, 0x4031, &e));  // logical dest 1, vector 0x31, edge
    EXPECT_EQ(e.index, 0x031u);
    EXPECT_EQ(e.value, 1u | 0u << 2 | 1u << 6 | 1u << 8 | 0x31u << 16);
    ASSERT_TRUE(amdvi_irte_for_msi(0xFEE03000, 0x0141, &e));  // physical dest 3, lowest priority
    EXPECT_EQ(e.index, 0x141u);
    EXPECT_EQ(e.value, 1u | 1u << 2 | 3u << 8 | 0x41u << 16);
}

TEST(IommuAmdViInterrupts, InitAndSmiAreDroppedFromEverySource) {
    Source s;
    IrtEntry e{};
    ASSERT_TRUE(amdvi_irte_for_msi(0xFEE00000, 0x0030, &e));
    s.add(e);
    Delivered d{};
    EXPECT_FALSE(s.deliver(0x0500, &d));  // the attack's dword: INIT to APIC 0
    EXPECT_FALSE(s.deliver(0x0200, &d));  // SMI
    EXPECT_FALSE(s.deliver(0x0300, &d));  // reserved
    EXPECT_TRUE(s.deliver(0x0400, &d));   // NMI passes (the guest's own; docs/security.md)
    EXPECT_TRUE(s.deliver(0x0700, &d));   // ExtINT passes
    EXPECT_TRUE(s.deliver(0x0030, &d));
}

TEST(IommuAmdViInterrupts, OnlyProgrammedMessagesPassAndAsProgrammed) {
    Source s;
    IrtEntry e{};
    ASSERT_TRUE(amdvi_irte_for_msi(0xFEE02000, 0x4031, &e));
    s.add(e);
    Delivered d{};
    ASSERT_TRUE(s.deliver(0x4031, &d));
    EXPECT_EQ(d.vector, 0x31);
    EXPECT_EQ(d.dest, 2);
    EXPECT_FALSE(d.logical);
    EXPECT_EQ(d.type, 0);
    EXPECT_FALSE(s.deliver(0x0032, &d));  // a vector nobody programmed
    EXPECT_FALSE(s.deliver(0x0131, &d));  // the same vector, lowest priority: another entry
    Source empty;  // every ID without a source of its own
    EXPECT_FALSE(empty.deliver(0x4031, &d));
}

TEST(IommuAmdViInterrupts, IoApicEntriesMapByVectorAndDeliveryMode) {
    Source s;
    IrtEntry e{};
    u64 const rte = u64{0x01} << 56 | 1u << 15 | 1u << 11 | 0x0122;  // dest 1, level, logical, lowest, 0x22
    ASSERT_TRUE(amdvi_irte_for_ioapic(rte, &e));
    EXPECT_EQ(e.index, 0x122u);  // the IOAPIC's message data: vector | mode << 8 | trigger << 15
    s.add(e);
    Delivered d{};
    ASSERT_TRUE(s.deliver(0x8122, &d));
    EXPECT_EQ(d.vector, 0x22);
    EXPECT_EQ(d.dest, 1);
    EXPECT_TRUE(d.logical);
    EXPECT_EQ(d.type, 1);
}

TEST(IommuAmdViInterrupts, MessagesTheTableCannotCarryAreRefused) {
    IrtEntry e{};
    EXPECT_FALSE(amdvi_irte_for_msi(0xFEE00000, 0x0500, &e));          // INIT
    EXPECT_FALSE(amdvi_irte_for_msi(0xFEE00000, 0x0400, &e));          // NMI: by its pass bit, not a table
    EXPECT_FALSE(amdvi_irte_for_msi(0xFED00000, 0x0030, &e));          // not the interrupt window
    EXPECT_FALSE(amdvi_irte_for_msi(0x1FEE00000ull, 0x0030, &e));      // above 4 GiB
    EXPECT_FALSE(amdvi_irte_for_ioapic(u64{0} << 56 | 0x0530, &e));    // an INIT redirection entry
}

TEST(IommuAmdViInterrupts, WithoutIvEveryMessagePasses) {
    Delivered d{};
    EXPECT_TRUE(amdvi_remap(0, nullptr, 0x0500, &d));  // the hole as it was
}

// Linux with two CPUs gives pin 4 vector 0x23 on CPU 1 while pin 9 has 0x23 on CPU 0: the
// IOAPIC's messages carry only the vector, so the shared entry must reach both CPUs (seen in
// the attack suite's two-CPU boot: the serial line's interrupts went to the wrong CPU).
TEST(IommuAmdViInterrupts, IoApicPinsSharingAVectorReachAllTheirCpus) {
    auto rte = [](u8 dest, bool logical, u32 low) { return u64{dest} << 56 | (logical ? 1u << 11 : 0u) | low; };
    u64 pins[24] = {};
    for (u64& p : pins) p = 1u << 16;  // masked
    pins[4] = rte(2, true, 0x0023), pins[9] = rte(1, true, 0x0023);
    IrtEntry e{};
    ASSERT_TRUE(amdvi_irte_for_ioapic_pins(pins, 24, 0x023, &e));
    EXPECT_EQ(e.index, 0x023u);
    EXPECT_EQ(e.value, 1u | 1u << 6 | 3u << 8 | 0x23u << 16);  // logical, CPUs 0 and 1, fixed
    pins[9] = rte(0, false, 0x0023);  // one physical: the broadcast
    ASSERT_TRUE(amdvi_irte_for_ioapic_pins(pins, 24, 0x023, &e));
    EXPECT_EQ(e.value, 1u | 0xFFu << 8 | 0x23u << 16);
    pins[9] |= 1u << 16;  // masked: pin 4 alone decides
    ASSERT_TRUE(amdvi_irte_for_ioapic_pins(pins, 24, 0x023, &e));
    EXPECT_EQ(e.value, 1u | 1u << 6 | 2u << 8 | 0x23u << 16);
    EXPECT_FALSE(amdvi_irte_for_ioapic_pins(pins, 24, 0x024, &e));  // nobody's vector
}

// A multi-queue device's MSI-X entries: queue 0 on CPU 0 and queue 1 on CPU 1 with the same
// vector number share one remapping entry, which must reach both CPUs.
TEST(IommuAmdViInterrupts, MsixEntriesSharingAVectorReachAllTheirCpus) {
    IrtEntry slots[4] = {};
    ASSERT_TRUE(amdvi_irte_for_msi(0xFEE01000, 0x0041, &slots[0]));  // physical APIC 1
    ASSERT_TRUE(amdvi_irte_for_msi(0xFEE02000, 0x0041, &slots[2]));  // physical APIC 2
    IrtEntry e{};
    ASSERT_TRUE(amdvi_irte_union(slots, 4, 0x041, &e));
    EXPECT_EQ(e.value, 1u | 0xFFu << 8 | 0x41u << 16);  // physical: the broadcast
    slots[2] = {};
    ASSERT_TRUE(amdvi_irte_union(slots, 4, 0x041, &e));
    EXPECT_EQ(e.value, 1u | 1u << 8 | 0x41u << 16);
    EXPECT_FALSE(amdvi_irte_union(slots, 4, 0x042, &e));
}
