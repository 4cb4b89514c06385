// The AHCI mediator's ABAR accesses that straddle a dword: each byte goes to its own register,
// so a misaligned write can never reach the device's PxCLB/PxFB (found by fuzz_ahci: a 4-byte
// write at PxCLB+1 was handed to the device at that offset, and the HBA then fetched commands
// from a list the guest chose).
#include "tests/unit/test_ahci_fake.hpp"

using namespace tv;
using namespace tv::ata;
using namespace tv::ata::ahci;
using namespace tv::ata::ahci::test;

namespace {

struct Port0 {
    Port0() : port_mem{kPortDmaBytes}, prd_mem{kPortPrdBytes}, pool_mem{16 * 4096} {
        pool.init(pool_mem.dma(), 16);
        hba.init(&m, &pool);
        EXPECT_TRUE(hba.attach_port(0, port_mem.dma(), reinterpret_cast<PrdEntry*>(prd_mem.ptr)));
        g.start();
    }
    u64 device_clb() { return m.port(kPxClb) | u64{m.port(kPxClbu)} << 32; }
    u64 device_fb() { return m.port(kPxFb) | u64{m.port(kPxFbu)} << 32; }
    bool in_port_memory(u64 dev) {
        u64 const b = reinterpret_cast<u64>(port_mem.ptr);
        return dev >= b && dev < b + kPortDmaBytes;
    }
    FakeMachine m;
    MonitorMemory port_mem, prd_mem, pool_mem;
    BouncePool pool;
    AhciHba hba;
    GuestDriver g{m, hba};
};

}  // namespace

TEST(AhciUnaligned, DwordWriteAcrossPxClbLeavesTheDeviceOnTheShadowList) {
    Port0 r;
    u64 const clb = r.device_clb(), fb = r.device_fb();
    ASSERT_TRUE(r.in_port_memory(clb));
    r.hba.write_sized(port_reg(0, kPxClb) + 1, 4, 0x00123400);
    r.hba.write_sized(port_reg(0, kPxFb) + 2, 4, 0x0000ABCD);
    EXPECT_EQ(r.device_clb(), clb);
    EXPECT_EQ(r.device_fb(), fb);
    // The guest sees its own registers take the bytes, as on the hardware.
    EXPECT_EQ(r.hba.read_sized(port_reg(0, kPxClb), 4), (GuestDriver::kClb & 0xFF) | 0x12340000u);
    EXPECT_EQ(r.hba.read_sized(port_reg(0, kPxFb), 4), (GuestDriver::kFb & 0xFFFF) | 0xABCD0000u);
}

TEST(AhciUnaligned, QwordWriteAtAnOddOffsetIsSplitIntoBytes) {
    Port0 r;
    u64 const clb = r.device_clb();
    r.hba.write_sized(port_reg(0, kPxClb) + 3, 8, 0x1122334455667788ull);
    EXPECT_EQ(r.device_clb(), clb);
    EXPECT_EQ(r.hba.read_sized(port_reg(0, kPxClb) + 3, 8), 0x1122334455667788ull);  // PxCLB+3 .. PxFB+2
}

TEST(AhciUnaligned, ReadAcrossTwoRegistersReturnsBothHalves) {
    Port0 r;
    u64 const v = r.hba.read_sized(port_reg(0, kPxClb) + 2, 4);
    EXPECT_EQ(v, GuestDriver::kClb >> 16);  // PxCLB's upper half, then PxCLBU's lower half (0)
}
