// The UEFI loader's hand-off helpers (boot/efi/handoff.c): memory types as the OS will see
// them, merged ranges, and segment registers decoded from a GDT.
#include "boot/efi/handoff.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace {

TEST(EfiHandoff, BootServicesAndLoaderMemoryBecomeUsableRuntimeStaysReserved) {
    EXPECT_EQ(tv_efi_to_e820(7), 1u);   // conventional
    EXPECT_EQ(tv_efi_to_e820(1), 1u);   // loader code
    EXPECT_EQ(tv_efi_to_e820(4), 1u);   // boot services data
    EXPECT_EQ(tv_efi_to_e820(0), 2u);   // reserved: the monitor's own region
    EXPECT_EQ(tv_efi_to_e820(5), 2u);   // runtime services code
    EXPECT_EQ(tv_efi_to_e820(6), 2u);   // runtime services data
    EXPECT_EQ(tv_efi_to_e820(11), 2u);  // MMIO
    EXPECT_EQ(tv_efi_to_e820(9), 3u);   // ACPI reclaim
    EXPECT_EQ(tv_efi_to_e820(10), 4u);  // ACPI NVS
    EXPECT_EQ(tv_efi_to_e820(8), 5u);   // unusable
    EXPECT_EQ(tv_efi_to_e820(14), 7u);  // persistent
    EXPECT_EQ(tv_efi_to_e820(99), 2u);  // unknown: never RAM
}

TEST(EfiHandoff, TouchingRangesOfOneTypeMerge) {
    auto h = std::make_unique<tv_uefi_handoff>();
    std::memset(h.get(), 0, sizeof *h);
    ASSERT_TRUE(tv_memmap_append(h.get(), 0, 0x1000, 1));
    ASSERT_TRUE(tv_memmap_append(h.get(), 0x1000, 0x9F000, 1));
    ASSERT_TRUE(tv_memmap_append(h.get(), 0xA0000, 0x0, 2));  // empty: dropped
    ASSERT_TRUE(tv_memmap_append(h.get(), 0x100000, 0x1000, 1));  // a gap: new range
    ASSERT_TRUE(tv_memmap_append(h.get(), 0x101000, 0x1000, 2));  // another type: new range
    ASSERT_EQ(h->memmap_count, 3u);
    EXPECT_EQ(h->memmap[0].length, 0xA0000u);
    EXPECT_EQ(h->memmap[1].base, 0x100000u);
    EXPECT_EQ(h->memmap[2].type, 2u);
}

TEST(EfiHandoff, FullMapRefusesAnotherRange) {
    auto h = std::make_unique<tv_uefi_handoff>();
    std::memset(h.get(), 0, sizeof *h);
    for (uint32_t i = 0; i < TV_UEFI_MAX_MEMMAP; ++i) ASSERT_TRUE(tv_memmap_append(h.get(), i * 0x2000ull, 0x1000, 1));
    EXPECT_FALSE(tv_memmap_append(h.get(), 0x10000000, 0x1000, 1));
    EXPECT_TRUE(tv_memmap_append(h.get(), (TV_UEFI_MAX_MEMMAP - 1) * 0x2000ull + 0x1000, 0x1000, 1));  // merges
}

// OVMF-like GDT: null, 32-bit data, 64-bit code at 0x38, and a 16-byte TSS at 0x40.
struct Gdt {
    uint8_t b[0x50] = {};
    Gdt() {
        put(0x08, 0x00CF92000000FFFFull);   // flat data, 4 KiB granular
        put(0x38, 0x00AF9B000000FFFFull);   // 64-bit code, accessed
        put(0x40, 0xAB008B5634120067ull);   // TSS: limit 0x67, base 0xAB563412 (low part)
        put(0x48, 0x00000000FFFFFFFFull);   // base bits 63:32
    }
    void put(size_t o, uint64_t v) { std::memcpy(b + o, &v, 8); }
};

TEST(EfiHandoff, CodeSegmentKeepsTypeDplAndLongModeBits) {
    Gdt g;
    tv_uefi_segment s;
    ASSERT_TRUE(tv_decode_segment(g.b, sizeof g.b - 1, 0x38, 0, &s));
    EXPECT_EQ(s.selector, 0x38);
    EXPECT_EQ(s.attr, 0xA9B);  // P DPL0 S code/read/accessed; L and G
    EXPECT_EQ(s.limit, 0xFFFFFFFFu);
    EXPECT_EQ(s.base, 0u);
}

TEST(EfiHandoff, DataSegmentScalesItsLimitByGranularity) {
    Gdt g;
    tv_uefi_segment s;
    ASSERT_TRUE(tv_decode_segment(g.b, sizeof g.b - 1, 0x08, 0, &s));
    EXPECT_EQ(s.attr, 0xC92);  // P DPL0 S data read/write; D/B and G
    EXPECT_EQ(s.limit, 0xFFFFFFFFu);
}

TEST(EfiHandoff, SystemDescriptorTakesItsHighBaseFromTheSecondHalf) {
    Gdt g;
    tv_uefi_segment s;
    ASSERT_TRUE(tv_decode_segment(g.b, sizeof g.b - 1, 0x40, 1, &s));
    EXPECT_EQ(s.base, 0xFFFFFFFFAB563412ull);
    EXPECT_EQ(s.limit, 0x67u);
    EXPECT_EQ(s.attr, 0x08B);  // busy 64-bit TSS, present
}

TEST(EfiHandoff, NullSelectorIsUnusableAndOutOfRangeOrLdtSelectorsFail) {
    Gdt g;
    tv_uefi_segment s;
    ASSERT_TRUE(tv_decode_segment(g.b, sizeof g.b - 1, 0, 0, &s));
    EXPECT_EQ(s.attr, 0);
    EXPECT_FALSE(tv_decode_segment(g.b, sizeof g.b - 1, 0x50, 0, &s));  // past the limit
    EXPECT_FALSE(tv_decode_segment(g.b, 0x47, 0x40, 1, &s));            // second half cut off
    EXPECT_FALSE(tv_decode_segment(g.b, sizeof g.b - 1, 0x0C, 0, &s));  // TI: an LDT selector
}

}  // namespace
