// The AHCI mediator against a fake HBA and fake guest memory: shadowing, TOCTOU, PRDT checks,
// refusals as device aborts, NCQ, bounce buffers, and transparent XTS for 512- and 4096-byte
// sectors.
#include <string.h>

#include <memory>
#include <vector>

#include "crypto/xts.hpp"
#include "tests/unit/test_ahci_fake.hpp"

using namespace tv;
using namespace tv::ata;
using namespace tv::ata::ahci;
using namespace tv::ata::ahci::test;

namespace {

struct Rig {
    explicit Rig(u32 sector = 512, u32 pool_pages = 64)
        : port_mem{kPortDmaBytes}, prd_mem{kPortPrdBytes}, pool_mem{u64{pool_pages} * 4096} {
        m.sector = sector;
        pool.init(pool_mem.dma(), pool_pages);
        hba.init(&m, &pool);
        EXPECT_TRUE(hba.attach_port(0, port_mem.dma(), reinterpret_cast<PrdEntry*>(prd_mem.ptr)));
        g.start();
    }
    FakeMachine m;
    MonitorMemory port_mem, prd_mem, pool_mem;
    BouncePool pool;
    AhciHba hba;
    GuestDriver g{m, hba};
    AhciPort& port() { return hba.port(0); }
    bool in_monitor(u64 dev) {
        auto in = [dev](MonitorMemory const& mm, u64 n) {
            return dev >= reinterpret_cast<u64>(mm.ptr) && dev < reinterpret_cast<u64>(mm.ptr) + n;
        };
        return in(port_mem, kPortDmaBytes) || in(pool_mem, u64{pool.pages()} * 4096);
    }
};

DiskKeyEntry key_entry(char const* serial, u32 unit) {
    DiskKeyEntry e{};
    strcpy(e.serial, serial);
    e.data_unit = unit;
    for (u32 i = 0; i < 64; ++i) e.master_key[i] = static_cast<u8>(0x40 + i * 13);
    return e;
}

std::vector<u8> xts(DiskKeyEntry const& e, u64 lba, u8 const* p, size_t n, u32 unit, bool enc) {
    std::vector<u8> v(p, p + n);
    crypto::Xts x;
    EXPECT_EQ(x.set_key(e.master_key), Status::Ok);
    auto s = enc ? x.encrypt_sectors(crypto::Lba{lba}, unit, v.data(), v.data(), n / unit)
                 : x.decrypt_sectors(crypto::Lba{lba}, unit, v.data(), v.data(), n / unit);
    EXPECT_EQ(s, Status::Ok);
    return v;
}

void no_keys() { ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok); }

// An encrypted disk: its transfers go through bounce buffers.
DiskKeyEntry const& with_key() {
    static DiskKeyEntry keys[] = {key_entry("QM00001", 512)};
    EXPECT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    return keys[0];
}
std::vector<u8> plain_on_disk(Rig& r, DiskKeyEntry const& k, u64 lba, size_t n) {
    return xts(k, lba, &r.m.disk[lba * 512], n, 512, false);
}
std::vector<u8> ram(Rig& r, u64 at, size_t n) { return std::vector<u8>(&r.m.ram[at], &r.m.ram[at] + n); }

}  // namespace

TEST(AhciShadow, DeviceSeesMonitorStructuresAndPlainDataGoesZeroCopy) {
    no_keys();
    Rig r;
    EXPECT_TRUE(r.in_monitor(r.m.clb())) << "device PxCLB must be the shadow list";
    EXPECT_TRUE(r.in_monitor(r.m.fb()));
    EXPECT_EQ(r.hba.read(port_reg(0, kPxClb)), GuestDriver::kClb) << "guest reads back its own PxCLB";
    EXPECT_EQ(r.hba.read(port_reg(0, kPxFb)), GuestDriver::kFb);
    r.g.identify();
    r.g.build(2, 0x25, 8, 4, GuestDriver::kBuf, 2048, false);
    r.g.issue(1u << 2);
    auto* h = r.m.at<CommandHeader>(r.m.clb()) + 2;
    EXPECT_TRUE(r.in_monitor(h->ctba | u64{h->ctbau} << 32)) << "the device reads the shadow table";
    auto* prd = reinterpret_cast<PrdEntry*>(r.m.at<u8>(h->ctba | u64{h->ctbau} << 32) + 0x80);
    EXPECT_EQ(prd[0].dba | u64{prd[0].dbau} << 32, GuestDriver::kBuf) << "a plain disk's data goes zero-copy";
    EXPECT_EQ(r.pool.used(), 0u) << "no bounce pages for a plain transfer";
    r.m.run();
    EXPECT_EQ(r.g.ci(), 0u);
    EXPECT_EQ(0, memcmp(&r.m.ram[GuestDriver::kBuf], &r.m.disk[8 * 512], 2048));
    EXPECT_EQ(r.g.header(2).prdbc, 2048u) << "PRDBC copied into the guest's header";
    auto* gfis = reinterpret_cast<ReceivedFis*>(&r.m.ram[GuestDriver::kFb]);
    EXPECT_EQ(gfis->rfis.type, kFisD2h) << "D2H FIS copied into the guest's FIS area";
}

TEST(AhciShadow, RewritingTheTableAfterIssueChangesNothing) {
    no_keys();
    Rig r;
    r.g.identify();
    r.g.build(1, 0x25, 16, 2, GuestDriver::kBuf, 1024, false);
    r.g.issue(1u << 1);
    // TOCTOU: the guest now points the command elsewhere, at another buffer, and to a refused opcode.
    r.g.fis(1).command = 0xF4;
    r.g.fis(1).lba0 = 99;
    r.g.prd(1, 0).dba = 0x200000;
    r.g.header(1).ctba = 0x50000;
    r.m.run();
    EXPECT_EQ(r.g.ci(), 0u);
    EXPECT_EQ(r.m.executed.back(), 0x25);
    EXPECT_EQ(0, memcmp(&r.m.ram[GuestDriver::kBuf], &r.m.disk[16 * 512], 1024)) << "the original buffer got the data";
    EXPECT_EQ(r.m.ram[0x200000], 0) << "the rewritten PRD was never used";
    EXPECT_TRUE(r.m.refusals.empty());
}

TEST(AhciPrdt, EntryIntoMonitorMemoryIsRefusedAsDeviceAbort) {
    no_keys();
    Rig r;
    r.g.identify();
    auto disk_before = r.m.disk;
    r.g.build(3, 0x25, 0, 8, kMonBase + 0x1000, 4096, false);
    r.g.issue(1u << 3);
    r.m.run();
    ASSERT_EQ(r.m.refusals.size(), 1u);
    EXPECT_NE(r.m.refusals[0].why.find("outside guest RAM"), std::string::npos);
    EXPECT_EQ(r.m.executed.back(), cmd::kNop) << "the device got an aborting NOP instead";
    EXPECT_EQ(r.g.ci() & (1u << 3), 1u << 3) << "an aborted command stays in PxCI, as on hardware";
    EXPECT_TRUE(r.hba.read(port_reg(0, kPxIs)) & (1u << 30)) << "TFES";
    EXPECT_EQ(r.hba.read(port_reg(0, kPxTfd)), 0x0441u) << "ERR + ABRT";
    auto* gfis = reinterpret_cast<ReceivedFis*>(&r.m.ram[GuestDriver::kFb]);
    EXPECT_EQ(gfis->rfis.error, st::kErrAbrt);
    for (u64 i = kMonBase; i < kMonEnd; ++i) ASSERT_EQ(r.m.ram[i], 0);
}

TEST(AhciPrdt, MalformedOrOversizedPrdtsAreRefused) {
    no_keys();
    struct Case {
        char const* what;
        void (*mutate)(GuestDriver&);
    };
    Case const cases[] = {
        {"odd address", [](GuestDriver& g) { g.prd(0, 0).dba |= 1; }},
        {"odd length", [](GuestDriver& g) { g.prd(0, 0).dbc &= ~1u; }},
        {"reserved bits", [](GuestDriver& g) { g.prd(0, 0).dbc |= 1u << 24; }},
        {"too many entries", [](GuestDriver& g) { g.header(0).prdtl = kMaxGuestPrds + 1; }},
        {"bytes != sectors", [](GuestDriver& g) { g.prd(0, 0).dbc = 511; }},
        {"past guest RAM", [](GuestDriver& g) { g.prd(0, 0).dba = static_cast<u32>(kRamBytes - 512); }},
        {"wrapping address", [](GuestDriver& g) { g.prd(0, 0).dbau = 0xFFFFFFFF, g.prd(0, 0).dba = 0xFFFFFE00; }},
    };
    for (Case const& c : cases) {
        Rig r;
        r.g.identify();
        r.g.build(0, 0x25, 0, 2, GuestDriver::kBuf, 1024, false);
        c.mutate(r.g);
        r.g.issue(1);
        r.m.run();
        EXPECT_EQ(r.m.refusals.size(), 1u) << c.what;
        EXPECT_EQ(r.m.executed.back(), cmd::kNop) << c.what;
    }
}

TEST(AhciCommand, NotAllowListedCommandIsAbortedAndReported) {
    no_keys();
    Rig r;
    r.g.identify();
    r.g.build(0, cmd::kSecurityEraseUnit, 0, 1, GuestDriver::kBuf, 512, true);
    r.g.issue(1);
    r.m.run();
    ASSERT_EQ(r.m.refusals.size(), 1u);
    EXPECT_EQ(r.m.refusals[0].command, cmd::kSecurityEraseUnit);
    EXPECT_EQ(r.m.executed.back(), cmd::kNop);
    EXPECT_TRUE(r.hba.read(port_reg(0, kPxIs)) & (1u << 30));
}

TEST(AhciCommand, ReadLogExtOnAnEncryptedDiskReachesTheGuestUndecrypted) {
    with_key();
    Rig r;
    r.g.identify();
    r.g.build(4, cmd::kReadLogExt, 0x10, 1, GuestDriver::kBuf, 512, false);  // NCQ Command Error log
    r.g.issue(1u << 4);
    r.m.run();
    EXPECT_TRUE(r.m.refusals.empty());
    EXPECT_EQ(r.m.executed.back(), cmd::kReadLogExt);
    EXPECT_EQ(r.g.ci(), 0u);
    for (u32 j = 0; j < 512; ++j) ASSERT_EQ(r.m.ram[GuestDriver::kBuf + j], static_cast<u8>(0x10 ^ j)) << j;
    EXPECT_EQ(r.pool.used(), 0u) << "its bounce page is back in the pool";
}

TEST(AhciCommand, ReadLogExtIntoMonitorMemoryIsRefused) {
    no_keys();
    Rig r;
    r.g.identify();
    r.g.build(4, cmd::kReadLogExt, 0x10, 1, kMonBase + 0x2000, 512, false);
    r.g.issue(1u << 4);
    r.m.run();
    ASSERT_EQ(r.m.refusals.size(), 1u);
    EXPECT_EQ(r.m.executed.back(), cmd::kNop);
    for (u64 i = kMonBase; i < kMonEnd; ++i) ASSERT_EQ(r.m.ram[i], 0);
}

TEST(AhciCommand, MediaCommandBeforeIdentifyIsRefusedWhenDisksAreConfigured) {
    static DiskKeyEntry keys[] = {key_entry("QM00001", 512)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    Rig r;
    r.g.build(0, 0x25, 0, 1, GuestDriver::kBuf, 512, false);
    r.g.issue(1);
    r.m.run();
    ASSERT_EQ(r.m.refusals.size(), 1u);
    EXPECT_EQ(r.m.executed.back(), cmd::kNop) << "no plaintext read of a disk whose key is not known yet";
}

TEST(AhciCommand, MediaCommandBeforeIdentifyPassesWhenNoDiskIsConfigured) {
    no_keys();
    Rig r;
    r.g.build(0, 0x25, 3, 1, GuestDriver::kBuf, 512, false);
    r.g.issue(1);
    r.m.run();
    EXPECT_EQ(r.g.ci(), 0u);
    EXPECT_TRUE(r.m.refusals.empty());
    EXPECT_EQ(0, memcmp(&r.m.ram[GuestDriver::kBuf], &r.m.disk[3 * 512], 512));
}

TEST(AhciNcq, SeveralTagsInFlightCompleteIndependently) {
    auto const& k = with_key();
    Rig r;
    r.g.identify();
    u32 const tags[] = {0, 3, 7};
    for (u32 t : tags) r.g.ncq(t, false, 100 + t * 8, 8, GuestDriver::kBuf + t * 0x10000);
    r.g.issue(1u << 0 | 1u << 3 | 1u << 7, true);
    EXPECT_EQ(r.m.port(kPxSact), 0x89u) << "the device got the SACT bits";
    r.m.run();
    EXPECT_EQ(r.g.sact(), 0x89u);
    EXPECT_EQ(r.m.ram[GuestDriver::kBuf + 3 * 0x10000], 0) << "no data before the tag completes";
    r.m.finish_ncq(1u << 3);
    EXPECT_EQ(r.g.sact(), 0x81u);
    EXPECT_EQ(ram(r, GuestDriver::kBuf + 3 * 0x10000, 4096), plain_on_disk(r, k, 124, 4096));
    EXPECT_EQ(r.m.ram[GuestDriver::kBuf + 7 * 0x10000], 0);
    r.m.finish_ncq(0x81);
    EXPECT_EQ(r.g.sact(), 0u);
    EXPECT_EQ(ram(r, GuestDriver::kBuf + 7 * 0x10000, 4096), plain_on_disk(r, k, 156, 4096));
    EXPECT_EQ(r.pool.used(), 0u) << "bounce pages returned";
}

TEST(AhciNcq, TagThatIsNotTheSlotIsRefused) {
    no_keys();
    Rig r;
    r.g.identify();
    r.g.ncq(2, false, 0, 1, GuestDriver::kBuf);
    r.g.fis(2).count_lo = 5 << 3;
    r.g.issue(1u << 2, true);
    ASSERT_EQ(r.m.refusals.size(), 1u);
    EXPECT_EQ(r.m.port(kPxSact), 0u);
}

TEST(AhciBounce, CommandWaitsForBouncePagesAndStillCompletes) {
    auto const& k = with_key();
    Rig r(512, 3);  // one page for IDENTIFY, then room for one 8 KiB read at a time
    r.g.identify();
    r.g.build(0, 0x25, 0, 16, GuestDriver::kBuf, 8192, false);
    r.g.build(1, 0x25, 64, 16, GuestDriver::kBuf + 0x10000, 8192, false);
    r.g.issue(0x3);
    EXPECT_EQ(r.m.port(kPxCi), 0x1u) << "slot 1 waits inside the monitor";
    EXPECT_EQ(r.g.ci(), 0x3u) << "the guest sees both pending";
    r.m.run();
    EXPECT_EQ(r.g.ci(), 0x2u) << "slot 0 done, slot 1 issued on that look";
    r.m.run();
    EXPECT_EQ(r.g.ci(), 0x0u);
    EXPECT_EQ(ram(r, GuestDriver::kBuf + 0x10000, 8192), plain_on_disk(r, k, 64, 8192));
}

TEST(AhciCrypt, WritesReachTheDiskEncryptedAndReadsComeBackPlain) {
    static DiskKeyEntry keys[] = {key_entry("QM00001", 512)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    Rig r;
    r.g.identify();
    ASSERT_TRUE(r.port().crypt().active());
    for (u32 i = 0; i < 4096; ++i) r.m.ram[GuestDriver::kBuf + i] = static_cast<u8>(i ^ 0x5A);
    std::vector<u8> plain(&r.m.ram[GuestDriver::kBuf], &r.m.ram[GuestDriver::kBuf] + 4096);
    r.g.build(0, 0x35, 40, 8, GuestDriver::kBuf, 4096, true);
    r.g.issue(1);
    r.m.run();
    EXPECT_EQ(r.g.ci(), 0u);
    std::vector<u8> on_disk(&r.m.disk[40 * 512], &r.m.disk[40 * 512] + 4096);
    EXPECT_EQ(on_disk, xts(keys[0], 40, plain.data(), 4096, 512, true));
    EXPECT_EQ(std::vector<u8>(&r.m.ram[GuestDriver::kBuf], &r.m.ram[GuestDriver::kBuf] + 4096), plain)
        << "the guest's buffer is never encrypted in place";
    memset(&r.m.ram[0x200000], 0, 4096);
    r.g.ncq(5, false, 40, 8, 0x200000);
    r.g.issue(1u << 5, true);
    r.m.run();
    r.m.finish_ncq(1u << 5);
    EXPECT_EQ(r.g.sact(), 0u);
    EXPECT_EQ(std::vector<u8>(&r.m.ram[0x200000], &r.m.ram[0x200000] + 4096), plain);
}

TEST(AhciCrypt, FourKiBSectorsEncryptWithTheSectorAsDataUnit) {
    static DiskKeyEntry keys[] = {key_entry("QM00001", 4096)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    Rig r(4096);
    r.g.identify();
    ASSERT_TRUE(r.port().crypt().active());
    EXPECT_EQ(r.port().crypt().sector_size(), 4096u);
    for (u32 i = 0; i < 8192; ++i) r.m.ram[GuestDriver::kBuf + i] = static_cast<u8>(i * 3);
    std::vector<u8> plain(&r.m.ram[GuestDriver::kBuf], &r.m.ram[GuestDriver::kBuf] + 8192);
    r.g.build(0, 0x35, 5, 2, GuestDriver::kBuf, 8192, true);
    r.g.issue(1);
    r.m.run();
    EXPECT_TRUE(r.m.refusals.empty());
    std::vector<u8> on_disk(&r.m.disk[5 * 4096], &r.m.disk[5 * 4096] + 8192);
    EXPECT_EQ(on_disk, xts(keys[0], 5, plain.data(), 8192, 4096, true));
    r.g.build(1, 0x25, 5, 2, GuestDriver::kBuf, 1024, false);  // 2 sectors are 8 KiB, not 1 KiB
    r.g.issue(2);
    r.m.run();
    EXPECT_EQ(r.m.refusals.size(), 1u);
}

TEST(AhciCrypt, UnlistedDiskIsDeniedWhenDisksAreConfigured) {
    static DiskKeyEntry keys[] = {key_entry("SOMEOTHER", 512)};
    ASSERT_EQ(sector_crypt_set_keys(keys, 1, true), Status::Ok);
    Rig r;
    r.g.identify();
    auto before = r.m.disk;
    r.g.build(0, 0x35, 0, 1, GuestDriver::kBuf, 512, true);
    r.g.issue(1);
    r.m.run();
    EXPECT_EQ(r.m.refusals.size(), 1u);
    EXPECT_EQ(r.m.disk, before);
}

TEST(AhciHba, StoppingThePortReleasesEveryBounceBuffer) {
    with_key();
    Rig r;
    r.g.identify();
    r.g.build(0, 0x25, 0, 8, GuestDriver::kBuf, 4096, false);
    r.g.issue(1);
    EXPECT_GT(r.pool.used(), 0u);
    r.hba.write(port_reg(0, kPxCmd), kCmdFre);
    EXPECT_EQ(r.pool.used(), 0u);
    EXPECT_EQ(r.g.ci(), 0u);
}

TEST(AhciHba, NarrowWritesToPxClbNeverReachTheDevice) {
    no_keys();
    Rig r;
    u64 const dev_clb = r.m.clb();
    r.hba.write_sized(port_reg(0, kPxClb) + 1, 1, 0x77);
    EXPECT_EQ(r.m.clb(), dev_clb);
    EXPECT_EQ(r.hba.read(port_reg(0, kPxClb)), GuestDriver::kClb | 0x7700u);
    EXPECT_EQ(r.hba.read_sized(kCap, 4) & kCapFbss, 0u);
}
