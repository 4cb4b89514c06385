// thinvisor.elf checks of the UEFI loader (boot/efi/elf_image.c): a broken or foreign file
// is refused with a reason before anything is allocated, a good one is copied with .bss
// zeroed at p_paddr - 2 MiB in the region.
#include "boot/efi/elf_image.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "thinvisor/uefi_handoff.h"

namespace {

constexpr uint64_t kRegion = TV_UEFI_REGION_SIZE;
constexpr uint64_t kVma = 0xFFFFFFFF80000000ull;

// A two-segment image like boot/linker.ld makes: .boot at 2 MiB with the UEFI header, and
// the kernel window part (text+data, then .bss).
struct Image {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(0x3000, 0);

    Image() {
        uint8_t* b = bytes.data();
        std::memcpy(b, "\x7f" "ELF", 4);
        b[4] = 2;                   // 64-bit
        b[5] = 1;                   // little-endian
        put16(16, 2);               // ET_EXEC
        put16(18, 62);              // x86-64
        put64(32, 64);              // phoff
        put16(54, 56);              // phentsize
        put16(56, 2);               // phnum
        phdr(0, 0x1000, 0x200000, 0x1000, 0x1000);
        phdr(1, 0x2000, 0x201000, 0x1000, 0x5000);
        header(0x1000 + 32, TV_UEFI_ABI_VERSION, TV_UEFI_HANDOFF_SIZE, kVma + 0x201000);
        std::memset(b + 0x2000, 0xAB, 0x1000);
    }
    void put16(size_t o, uint16_t v) { std::memcpy(&bytes[o], &v, 2); }
    void put32(size_t o, uint32_t v) { std::memcpy(&bytes[o], &v, 4); }
    void put64(size_t o, uint64_t v) { std::memcpy(&bytes[o], &v, 8); }
    void phdr(int i, uint64_t off, uint64_t paddr, uint64_t filesz, uint64_t memsz) {
        size_t const p = 64 + 56 * static_cast<size_t>(i);
        put32(p, 1);  // PT_LOAD
        put64(p + 8, off);
        put64(p + 16, paddr);  // vaddr (unused)
        put64(p + 24, paddr);
        put64(p + 32, filesz);
        put64(p + 40, memsz);
    }
    void header(size_t o, uint32_t version, uint32_t size, uint64_t entry) {
        put64(o, TV_UEFI_IMAGE_MAGIC);
        put32(o + 8, version);
        put32(o + 12, size);
        put64(o + 16, entry);
        put64(o + 24, kVma);
    }
    char const* check(tv_elf_plan* plan, uint64_t len = 0) {
        return tv_elf_check(bytes.data(), len ? len : bytes.size(), kRegion, plan);
    }
};

TEST(EfiElfImage, AcceptsTheLinkerScriptsLayoutAndFindsTheEntry) {
    Image img;
    tv_elf_plan plan;
    ASSERT_EQ(img.check(&plan), nullptr);
    EXPECT_EQ(plan.count, 2u);
    EXPECT_EQ(plan.image_size, 0x6000u);
    EXPECT_EQ(plan.entry, kVma + 0x201000);
    EXPECT_EQ(plan.kernel_vma, kVma);
}

TEST(EfiElfImage, CopiesSegmentsAndZeroesBss) {
    Image img;
    tv_elf_plan plan;
    ASSERT_EQ(img.check(&plan), nullptr);
    std::vector<uint8_t> region(plan.image_size, 0xEE);
    tv_elf_copy(img.bytes.data(), &plan, region.data());
    EXPECT_EQ(region[0x1000], 0xAB);
    EXPECT_EQ(region[0x1FFF], 0xAB);
    EXPECT_EQ(region[0x2000], 0);  // .bss
    EXPECT_EQ(region[0x5FFF], 0);
    EXPECT_EQ(std::memcmp(region.data(), img.bytes.data() + 0x1000, 0x1000), 0);
}

TEST(EfiElfImage, TruncatedFileIsRefused) {
    Image img;
    tv_elf_plan plan;
    EXPECT_STREQ(img.check(&plan, 0x2800), "a segment extends past the end of the file (truncated?)");
    EXPECT_STREQ(img.check(&plan, 40), "the file is too short to be an ELF file");
    EXPECT_STREQ(img.check(&plan, 100), "its program headers are missing or lie outside the file");
}

TEST(EfiElfImage, ForeignFilesAreRefused) {
    tv_elf_plan plan;
    Image text;
    text.bytes[0] = 'M';
    EXPECT_STREQ(text.check(&plan), "not an ELF file");
    Image arm;
    arm.put16(18, 183);  // AArch64
    EXPECT_STREQ(arm.check(&plan), "not a 64-bit x86 ELF file");
    Image lib;
    lib.put16(16, 3);  // ET_DYN
    EXPECT_STREQ(lib.check(&plan), "not an ELF executable");
    Image plain;
    plain.put64(0x1000 + 32, 0);
    EXPECT_STREQ(plain.check(&plan), "it has no thinvisor UEFI image header (not a thinvisor monitor?)");
}

TEST(EfiElfImage, HeaderFromAnotherAbiVersionIsRefused) {
    tv_elf_plan plan;
    Image old_abi;
    old_abi.header(0x1000 + 32, TV_UEFI_ABI_VERSION + 1, TV_UEFI_HANDOFF_SIZE, kVma + 0x201000);
    EXPECT_STREQ(old_abi.check(&plan), "it was built for another version of this loader (hand-off ABI mismatch)");
    Image resized;
    resized.header(0x1000 + 32, TV_UEFI_ABI_VERSION, TV_UEFI_HANDOFF_SIZE - 8, kVma + 0x201000);
    EXPECT_STREQ(resized.check(&plan), "it was built for another version of this loader (hand-off ABI mismatch)");
}

TEST(EfiElfImage, SegmentsOutsideTheRegionAreRefused) {
    tv_elf_plan plan;
    Image low;
    low.phdr(1, 0x2000, 0x100000, 0x1000, 0x1000);  // below 2 MiB
    EXPECT_STREQ(low.check(&plan), "a segment lies outside the monitor's 32 MiB region");
    Image big;
    big.phdr(1, 0x2000, 0x201000, 0x1000, kRegion);  // .bss past the region's end
    EXPECT_STREQ(big.check(&plan), "a segment lies outside the monitor's 32 MiB region");
    Image wrap;
    wrap.phdr(1, ~0ull - 8, 0x201000, 0x1000, 0x1000);  // offset + size overflows
    EXPECT_STREQ(wrap.check(&plan), "a segment extends past the end of the file (truncated?)");
}

TEST(EfiElfImage, EntryOutsideTheImageIsRefused) {
    tv_elf_plan plan;
    Image img;
    img.header(0x1000 + 32, TV_UEFI_ABI_VERSION, TV_UEFI_HANDOFF_SIZE, kVma + 0x200000 + 0x6000);
    EXPECT_STREQ(img.check(&plan), "its UEFI entry point lies outside the image");
    img.header(0x1000 + 32, TV_UEFI_ABI_VERSION, TV_UEFI_HANDOFF_SIZE, 0x201000);
    EXPECT_STREQ(img.check(&plan), "its UEFI entry point lies outside the image");
}

}  // namespace
