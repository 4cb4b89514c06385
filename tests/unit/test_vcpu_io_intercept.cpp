// Vcpu::set_io_intercept: the run-time switch the PCI data ports use. It must touch exactly the
// named ports' bits in the backend's bitmap and leave every other port as it was.
#include <gtest/gtest.h>

#include <string.h>

#include "tests/unit/fake_vcpu.hpp"

namespace tv {
namespace {

TEST(VcpuIoIntercept, TogglesExactlyTheNamedPorts) {
    static u8 bitmap[8192];
    memset(bitmap, 0, sizeof bitmap);
    test::FakeVcpu v;
    v.set_io_bitmap(bitmap);
    bitmap[0xCF8 / 8] = 0x0F;  // CF8-CFB claimed, as the PCI hook does
    v.set_io_intercept(0xCFC, 4, true);
    EXPECT_EQ(bitmap[0xCF8 / 8], 0xFF);
    for (u32 p = 0xCF8; p < 0xD00; ++p) EXPECT_TRUE(v.io_intercepted(static_cast<u16>(p))) << std::hex << p;
    EXPECT_FALSE(v.io_intercepted(0xD00));
    v.set_io_intercept(0xCFC, 4, false);
    EXPECT_EQ(bitmap[0xCF8 / 8], 0x0F);  // the address port stays claimed
    EXPECT_FALSE(v.io_intercepted(0xCFC));
    EXPECT_TRUE(v.io_intercepted(0xCFB));
}

TEST(VcpuIoIntercept, StopsAtTheLastPort) {
    static u8 bitmap[8192];
    memset(bitmap, 0, sizeof bitmap);
    test::FakeVcpu v;
    v.set_io_bitmap(bitmap);
    v.set_io_intercept(0xFFFE, 8, true);  // runs past 0xFFFF: only two ports exist
    EXPECT_TRUE(v.io_intercepted(0xFFFF));
    EXPECT_EQ(bitmap[8191], 0xC0);
    EXPECT_EQ(bitmap[0], 0);
}

TEST(VcpuIoIntercept, WithoutABitmapNothingHappens) {
    test::FakeVcpu v;
    v.set_io_intercept(0xCFC, 4, true);
    EXPECT_FALSE(v.io_intercepted(0xCFC));
}

}  // namespace
}  // namespace tv
