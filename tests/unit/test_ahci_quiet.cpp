// Quiet reads (docs/ahci.md): while every command in flight needs nothing at completion, the
// guest reads the HBA's registers without the monitor (FakeMachine::reads_direct models the
// read-only ABAR mapping). What must still hold: reads exit again before the device gets a
// command that needs the monitor at completion, a status read never shows a completion whose
// data is not yet in the guest's buffer, zero-copy uses only the checked copies, and a slot
// the guest saw done and reuses is issued again.
#include <string.h>

#include <vector>

#include "crypto/xts.hpp"
#include "tests/unit/test_ahci_fake.hpp"

using namespace tv;
using namespace tv::ata;
using namespace tv::ata::ahci;
using namespace tv::ata::ahci::test;

namespace {

struct QuietRig {
    QuietRig() : port_mem{kPortDmaBytes}, prd_mem{kPortPrdBytes}, pool_mem{64 * 4096} {
        pool.init(pool_mem.dma(), 64);
        hba.init(&m, &pool);
        EXPECT_TRUE(hba.attach_port(0, port_mem.dma(), reinterpret_cast<PrdEntry*>(prd_mem.ptr)));
        g.start();
        g.identify();
        m.sync_reads(hba);
    }
    // A guest access through the monitor, then the monitor's mapping decision (ahci_install).
    void doorbell(u32 bits) {
        g.issue(bits, true);
        m.sync_reads(hba);
    }
    u32 direct_read(u32 reg) {
        EXPECT_TRUE(m.reads_direct) << "this read would have exited";
        return m.port(reg);
    }
    FakeMachine m;
    MonitorMemory port_mem, prd_mem, pool_mem;
    BouncePool pool;
    AhciHba hba;
    GuestDriver g{m, hba};
};

DiskKeyEntry const& with_key() {
    static DiskKeyEntry keys[1] = {};
    strcpy(keys[0].serial, "QM00001");
    keys[0].data_unit = 512;
    for (u32 i = 0; i < 64; ++i) keys[0].master_key[i] = static_cast<u8>(0x21 + i * 7);
    EXPECT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    return keys[0];
}

std::vector<u8> decrypt(DiskKeyEntry const& k, u64 lba, u8 const* p, size_t n) {
    std::vector<u8> v(p, p + n);
    crypto::Xts x;
    EXPECT_EQ(x.set_key(k.master_key), Status::Ok);
    EXPECT_EQ(x.decrypt_sectors(crypto::Lba{lba}, 512, v.data(), v.data(), n / 512), Status::Ok);
    return v;
}

void no_keys() { ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok); }

constexpr u64 kBufA = GuestDriver::kBuf, kBufB = GuestDriver::kBuf + 0x40000;

}  // namespace

TEST(AhciQuiet, PlainNcqNeedsOnlyTheDoorbellAndTheGuestReadsStatusDirectly) {
    no_keys();
    QuietRig r;
    EXPECT_TRUE(r.m.reads_direct) << "idle: nothing to see";
    r.g.ncq(4, false, 200, 16, kBufA);
    r.doorbell(1u << 4);
    EXPECT_TRUE(r.m.reads_direct) << "a plain NCQ read needs nothing at completion";
    EXPECT_EQ(r.pool.used(), 0u) << "zero-copy";
    r.m.run();
    r.m.finish_ncq(1u << 4);
    EXPECT_EQ(r.direct_read(kPxSact), 0u);
    EXPECT_TRUE(r.direct_read(kPxIs) & (1u << 3)) << "SDB";
    EXPECT_EQ(0, memcmp(&r.m.ram[kBufA], &r.m.disk[200 * 512], 8192)) << "the data is there when the guest sees SACT clear";
}

TEST(AhciQuiet, GuestRewritingDescriptorsAndBuffersMidTransferChangesOnlyItsOwnData) {
    no_keys();
    QuietRig r;
    for (u32 i = 0; i < 4096; ++i) r.m.ram[kBufA + i] = static_cast<u8>(i * 3);
    r.g.ncq(2, true, 64, 8, kBufA);
    r.doorbell(1u << 2);
    // Mid-transfer: the PRD now points into the monitor's range, the FIS at another LBA and
    // opcode, the header at another table; and the data buffer changes.
    r.g.prd(2, 0).dba = static_cast<u32>(kMonBase);
    r.g.fis(2).lba0 = 0;
    r.g.fis(2).command = 0xF4;
    r.g.header(2).ctba = 0x50000;
    memset(&r.m.ram[kBufA], 0xEE, 4096);
    r.m.run();  // the fake device checks that every zero-copy address is guest RAM
    r.m.finish_ncq(1u << 2);
    EXPECT_EQ(r.m.executed.back(), 0x61) << "the checked copy ran";
    EXPECT_EQ(r.m.disk[64 * 512], 0xEE) << "the buffer as it was when the device read it";
    EXPECT_NE(r.m.disk[0], 0xEE) << "the rewritten LBA was never used";
    for (u64 i = kMonBase; i < kMonBase + 4096; ++i) ASSERT_EQ(r.m.ram[i], 0);
    EXPECT_TRUE(r.m.refusals.empty());
}

TEST(AhciQuiet, SlotTheGuestSawDoneIsIssuedAgainOnItsNextDoorbell) {
    no_keys();
    QuietRig r;
    r.g.ncq(0, false, 8, 8, kBufA);
    r.doorbell(1);
    r.m.run();
    r.m.finish_ncq(1);  // seen by the guest only (direct read); the monitor did not look
    ASSERT_EQ(r.direct_read(kPxSact), 0u);
    r.g.ncq(0, false, 16, 8, kBufB);
    r.doorbell(1);
    r.m.run();
    r.m.finish_ncq(1);
    EXPECT_EQ(0, memcmp(&r.m.ram[kBufB], &r.m.disk[16 * 512], 4096)) << "the reused slot ran";
    r.hba.write(port_reg(0, kPxIs), 1u << 3);  // the next exit: the monitor finishes it
    EXPECT_EQ(r.hba.port(0).counters().completed, 3u) << "IDENTIFY and both reads";
}

TEST(AhciQuiet, EncryptedReadMakesReadsExitBeforeTheDeviceGetsIt) {
    auto const& k = with_key();
    QuietRig r;
    ASSERT_TRUE(r.hba.port(0).crypt().active());
    EXPECT_TRUE(r.m.reads_direct);
    r.g.ncq(1, false, 40, 8, kBufA);
    r.doorbell(1u << 1);
    ASSERT_FALSE(r.m.doorbell_trapped.empty());
    EXPECT_TRUE(r.m.doorbell_trapped.back()) << "reads trapped before the doorbell reached the device";
    EXPECT_FALSE(r.m.reads_direct);
    r.m.run();
    r.m.finish_ncq(1u << 1);
    EXPECT_EQ(r.g.sact(), 0u);  // through the monitor: completion finished first
    std::vector<u8> got(&r.m.ram[kBufA], &r.m.ram[kBufA] + 4096);
    EXPECT_EQ(got, decrypt(k, 40, &r.m.disk[40 * 512], 4096));
    r.m.sync_reads(r.hba);
    EXPECT_TRUE(r.m.reads_direct) << "quiet again once the read is finished";
}

TEST(AhciQuiet, StatusReadRacingAnEncryptedCompletionNeverShowsItEarly) {
    auto const& k = with_key();
    for (bool before : {true, false}) {  // the device finishes just before, or just after, the register read
        QuietRig r;
        r.g.ncq(3, false, 80, 8, kBufA);
        r.doorbell(1u << 3);
        r.m.run();
        r.m.on_read(port_reg(0, kPxSact), before, [&r] { r.m.finish_ncq(1u << 3); });
        u32 const sact = r.g.sact();
        std::vector<u8> got(&r.m.ram[kBufA], &r.m.ram[kBufA] + 4096);
        if (!(sact & (1u << 3))) {
            EXPECT_EQ(got, decrypt(k, 80, &r.m.disk[80 * 512], 4096)) << "before=" << before;
        }
        EXPECT_EQ(bool(sact & (1u << 3)), !before) << "the read shows what the device showed";
        EXPECT_EQ(r.g.sact(), 0u);
        got.assign(&r.m.ram[kBufA], &r.m.ram[kBufA] + 4096);
        EXPECT_EQ(got, decrypt(k, 80, &r.m.disk[80 * 512], 4096));
    }
}

TEST(AhciQuiet, EncryptedWriteIsQuietAndItsBouncePagesReturnAtTheNextWrite) {
    auto const& k = with_key();
    QuietRig r;
    for (u32 i = 0; i < 4096; ++i) r.m.ram[kBufA + i] = static_cast<u8>(i ^ 0x3C);
    r.g.ncq(5, true, 96, 8, kBufA);
    r.doorbell(1u << 5);
    EXPECT_TRUE(r.m.reads_direct) << "nothing to do at a write's completion";
    memset(&r.m.ram[kBufA], 0, 4096);  // the guest changes its buffer after the doorbell
    r.m.run();
    r.m.finish_ncq(1u << 5);
    EXPECT_GT(r.pool.used(), 0u) << "the monitor has not looked yet";
    r.hba.write(port_reg(0, kPxIs), 1u << 3);  // the guest's interrupt handler clears PxIS
    EXPECT_EQ(r.pool.used(), 0u);
    std::vector<u8> plain = decrypt(k, 96, &r.m.disk[96 * 512], 4096);
    for (u32 i = 0; i < 4096; ++i) ASSERT_EQ(plain[i], static_cast<u8>(i ^ 0x3C)) << "what the doorbell saw, encrypted";
}

TEST(AhciQuiet, NonQueuedCommandKeepsReadsTrapped) {
    no_keys();
    QuietRig r;
    r.g.build(0, 0x25, 0, 8, kBufA, 4096, false);  // READ DMA EXT: PRDBC goes into the guest's header
    r.g.issue(1);
    r.m.sync_reads(r.hba);
    EXPECT_FALSE(r.m.reads_direct);
    EXPECT_TRUE(r.m.doorbell_trapped.back());
    r.m.run();
    EXPECT_EQ(r.g.ci(), 0u);
    EXPECT_EQ(r.g.header(0).prdbc, 4096u);
    r.m.sync_reads(r.hba);
    EXPECT_TRUE(r.m.reads_direct);
}
