// INT 13h services of the AoE disk: the results boot loaders rely on.
#include <gtest/gtest.h>

#include <memory>

#include "tests/unit/test_aoe_disk_fake.hpp"

using namespace aoedisk;

namespace {

struct Bios {
    FakeEnv env;
    FakeBlock blk{100000};
    std::unique_ptr<Int13Disk> d{new Int13Disk};
    Bios() { d->init(&env, &blk, 0x80, 1); }
    BiosDiskRegs call(u32 eax, u32 ebx = 0, u32 ecx = 0, u32 edx = 0x80, u32 esi = 0, u64 ds = 0, u64 es = 0) {
        BiosDiskRegs r{eax, ebx, ecx, edx, esi, 0, ds, es, false};
        d->call(r);
        return r;
    }
    void dap(u64 at, u16 count, u16 off, u16 seg, u64 lba, u8 size = 16, u64 flat = 0) {
        u8* p = env.phys.data() + at;
        p[0] = size;
        p[1] = 0;
        memcpy(p + 2, &count, 2);
        memcpy(p + 4, &off, 2);
        memcpy(p + 6, &seg, 2);
        memcpy(p + 8, &lba, 8);
        memcpy(p + 16, &flat, 8);
    }
};

}  // namespace

TEST(AoeDiskInt13, ExtensionsCheck) {
    Bios b;
    BiosDiskRegs r = b.call(0x4100, 0x55AA);
    EXPECT_FALSE(r.carry);
    EXPECT_EQ(r.ebx & 0xFFFF, 0xAA55u);
    EXPECT_EQ(r.ecx & 0xFFFF, 1u);
    EXPECT_EQ((r.eax >> 8) & 0xFF, 0x30u);
    EXPECT_TRUE(b.call(0x4100, 0x1234).carry);
}

TEST(AoeDiskInt13, ParametersAndType) {
    Bios b;
    BiosDiskRegs r = b.call(0x0800);
    EXPECT_FALSE(r.carry);
    u32 const maxc = ((r.ecx >> 8) & 0xFF) | ((r.ecx & 0xC0) << 2);
    EXPECT_EQ(maxc, 100000u / (255 * 63) - 1);
    EXPECT_EQ(r.ecx & 0x3F, 63u);
    EXPECT_EQ((r.edx >> 8) & 0xFF, 254u);
    EXPECT_EQ(r.edx & 0xFF, 1u);
    r = b.call(0x1500);
    EXPECT_EQ((r.eax >> 8) & 0xFF, 3u);
    EXPECT_EQ((r.ecx & 0xFFFF) << 16 | (r.edx & 0xFFFF), 100000u);
    b.env.phys[0x600] = 0x1E;
    r = b.call(0x4800, 0, 0, 0x80, 0x600);
    EXPECT_FALSE(r.carry);
    u64 sectors;
    memcpy(&sectors, b.env.phys.data() + 0x610, 8);
    EXPECT_EQ(sectors, 100000u);
    EXPECT_EQ(b.env.phys[0x618] | b.env.phys[0x619] << 8, 512);
}

TEST(AoeDiskInt13, ChsReadOfTheMbr) {
    Bios b;
    BiosDiskRegs r = b.call(0x0201, 0x7C00, 0x0001, 0x0080);
    EXPECT_FALSE(r.carry);
    EXPECT_EQ(r.eax & 0xFF, 1u);
    EXPECT_EQ(0, memcmp(b.env.phys.data() + 0x7C00, b.blk.disk.data(), 512));
    // Cylinder 1, head 2, sector 3 with ES = 0x1000
    r = b.call(0x0202, 0x0000, 0x0103, 0x0280, 0, 0, 0x10000);
    EXPECT_FALSE(r.carry);
    u64 const lba = (1 * 255 + 2) * 63 + 2;
    EXPECT_EQ(0, memcmp(b.env.phys.data() + 0x10000, b.blk.disk.data() + lba * 512, 1024));
    EXPECT_TRUE(b.call(0x0201, 0, 0x0000, 0x0080).carry);  // sector 0 does not exist
}

TEST(AoeDiskInt13, ExtendedReadWrite) {
    Bios b;
    b.dap(0x500, 16, 0x0000, 0x2000, 12345);
    BiosDiskRegs r = b.call(0x4200, 0, 0, 0x80, 0x500);
    EXPECT_FALSE(r.carry);
    EXPECT_EQ(0, memcmp(b.env.phys.data() + 0x20000, b.blk.disk.data() + 12345ull * 512, 16 * 512));
    for (int i = 0; i < 1024; ++i) b.env.phys[0x30000 + i] = static_cast<u8>(i * 3);
    b.dap(0x500, 2, 0xFFFF, 0xFFFF, 99, 24, 0x30000);  // flat address
    r = b.call(0x4300, 0, 0, 0x80, 0x500);
    EXPECT_FALSE(r.carry);
    EXPECT_EQ(0, memcmp(b.blk.disk.data() + 99 * 512, b.env.phys.data() + 0x30000, 1024));
}

TEST(AoeDiskInt13, RefusalsAndErrors) {
    Bios b;
    b.dap(0x500, 8, 0xFFFF, 0xFFFF, 0, 24, 0x2FF800);  // into the hidden range
    BiosDiskRegs r = b.call(0x4200, 0, 0, 0x80, 0x500);
    EXPECT_TRUE(r.carry);
    EXPECT_EQ((r.eax >> 8) & 0xFF, 0x01u);
    EXPECT_TRUE(b.env.logged("not guest RAM"));
    b.dap(0x500, 200, 0, 0x2000, 0);  // more than 127 sectors
    EXPECT_TRUE(b.call(0x4200, 0, 0, 0x80, 0x500).carry);
    b.dap(0x500, 1, 0, 0x2000, 100000);  // past the end
    r = b.call(0x4200, 0, 0, 0x80, 0x500);
    EXPECT_EQ((r.eax >> 8) & 0xFF, 0x04u);
    b.blk.fault = DiskFault::TimedOut;
    b.dap(0x500, 1, 0, 0x2000, 5);
    r = b.call(0x4200, 0, 0, 0x80, 0x500);
    EXPECT_TRUE(r.carry);
    EXPECT_EQ((r.eax >> 8) & 0xFF, 0x80u);
    r = b.call(0x0100);
    EXPECT_EQ(r.eax & 0xFF, 0x80u);
    EXPECT_TRUE(b.call(0x4B00).carry);          // El Torito: not ours
    EXPECT_TRUE(b.call(0x0201, 0, 1, 0x81).carry);  // another drive
}
