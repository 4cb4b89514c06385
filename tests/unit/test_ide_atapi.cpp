// ATAPI under the IDE mediator (drivers/ide/ide_atapi.cpp) on the fake channel with a packet
// device: the command block reaches the device only from the monitor's copy, a refused one is
// replaced by TEST UNIT READY and reported as CHECK CONDITION with the refusal's sense (error
// register and the next REQUEST SENSE), packet DMA runs on the shadowed table only.
#include "tests/unit/test_ide_fake.hpp"

using namespace idefake;

namespace {

constexpr u64 kTable = 0x1000, kBuf = 0x10000;

struct CdRig : Rig {
    explicit CdRig(bool cd_write = false) : Rig(512, false) {
        dev.atapi = true;
        ch.set_cd_write(cd_write);
        ch.probe();
    }
    // PACKET (PIO unless dma), then the block as six words, as Linux sends it.
    void packet(std::vector<u8> cdb, bool dma = false) {
        cdb.resize(12);
        out(kCmd + 1, 1, dma ? 1 : 0);
        out(kCmd + 4, 1, 0x00);  // byte count limit 0x800
        out(kCmd + 5, 1, 0x08);
        out(kCmd + 6, 1, 0xA0);
        out(kCmd + 7, 1, cmd::kPacket);
        for (u32 i = 0; i < 12; i += 2) out(kCmd, 2, static_cast<u32>(cdb[i] | cdb[i + 1] << 8));
    }
    std::vector<u8> pio_in(u32 n) {
        std::vector<u8> v;
        for (u32 i = 0; i < n; i += 2) {
            u32 const w = in(kCmd, 2);
            v.push_back(static_cast<u8>(w));
            v.push_back(static_cast<u8>(w >> 8));
        }
        return v;
    }
};

std::vector<u8> const kWrite10{0x2A, 0, 0, 0, 0, 16, 0, 0, 1, 0, 0, 0};
std::vector<u8> const kRead10{0x28, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0};

}  // namespace

TEST(IdeAtapi, ProbeFindsThePacketDeviceAndAttachesNoKey) {
    CdRig r;
    EXPECT_TRUE(r.dev.logged("ide0.0: packet device"));
    EXPECT_FALSE(r.ch.crypt(0).attached());
}

TEST(IdeAtapi, AnAllowedBlockReachesTheDeviceAndReadsPassThrough) {
    CdRig r;
    auto const data = pattern(2048, 3);
    memcpy(r.dev.disk.data() + 2 * 2048, data.data(), data.size());
    r.packet(kRead10);
    ASSERT_EQ(r.dev.cdbs.size(), 1u);
    EXPECT_EQ(r.dev.cdbs[0], kRead10);
    EXPECT_EQ(r.pio_in(2048), data);
    EXPECT_EQ(r.ch.counters().refused, 0u);
}

TEST(IdeAtapi, ABlockInOddPiecesIsAssembledBeforeItIsChecked) {
    CdRig r;
    r.out(kCmd + 1, 1, 0);
    r.out(kCmd + 7, 1, cmd::kPacket);
    r.out(kCmd, 1, 0x2A);  // a byte, then a dword, then words
    r.out(kCmd, 4, 0);
    for (int i = 0; i < 3; ++i) r.out(kCmd, 2, 0);
    r.out(kCmd, 1, 0);
    EXPECT_TRUE(r.dev.logged("refused WRITE(10)"));
    ASSERT_EQ(r.dev.cdbs.size(), 1u);
    EXPECT_EQ(r.dev.cdbs[0][0], 0x00);  // the device got TEST UNIT READY, never the write
}

TEST(IdeAtapi, AWriteIsRefusedWithDataProtectAndItsSenseComesWithTheNextRequestSense) {
    CdRig r;
    r.packet(kWrite10);
    ASSERT_EQ(r.dev.cdbs.size(), 1u);
    EXPECT_EQ(r.dev.cdbs[0], std::vector<u8>(12, 0));  // TEST UNIT READY in its place
    EXPECT_EQ(r.status() & (st::kErr | st::kBsy | st::kDrq), st::kErr);
    EXPECT_EQ(r.in(kCmd + 1), 0x74u);  // DATA PROTECT in 7:4, ABRT
    EXPECT_TRUE(r.dev.logged("ide0.0: refused WRITE(10) (0x2a): writes media"));
    r.packet({0x03, 0, 0, 0, 18, 0});
    auto const sense = r.pio_in(18);
    EXPECT_EQ(sense[0], 0x70);
    EXPECT_EQ(sense[2], 0x07);   // not the device's own UNIT ATTENTION
    EXPECT_EQ(sense[12], 0x27);  // WRITE PROTECTED
    r.packet({0x03, 0, 0, 0, 18, 0});  // sense lasts one command
    EXPECT_EQ(r.pio_in(18)[2], 0x06);
}

TEST(IdeAtapi, UnknownAndFirmwareOpcodesAreIllegalRequestsEvenWithCdWriteAllowed) {
    CdRig r(true);
    r.packet({0x3B, 0x05});  // WRITE BUFFER: firmware download
    EXPECT_EQ(r.in(kCmd + 1), 0x54u);
    r.packet({0xD8});
    EXPECT_EQ(r.in(kCmd + 1), 0x54u);
    for (auto const& c : r.dev.cdbs) EXPECT_EQ(c[0], 0x00);
}

TEST(IdeAtapi, CdWriteAllowPassesTheWriteAndLogsIt) {
    CdRig r(true);
    r.packet(kWrite10);
    ASSERT_EQ(r.dev.cdbs.size(), 1u);
    EXPECT_EQ(r.dev.cdbs[0], kWrite10);
    EXPECT_TRUE(r.dev.logged("WRITE(10) passed ([ide] cd_write = allow)"));
}

TEST(IdeAtapi, PacketToAnAttachedDiskIsRefused) {
    Rig r;  // a disk with its IDENTIFY read at probe
    ASSERT_TRUE(r.ch.crypt(0).attached());
    r.out(kCmd + 7, 1, cmd::kPacket);
    EXPECT_TRUE(r.dev.logged("refused PACKET"));
    EXPECT_EQ(r.dev.commands.back(), cmd::kCheckPower);
}

TEST(IdeAtapi, PacketDmaRunsOnTheShadowedTable) {
    CdRig r;
    auto const data = pattern(2048, 9);
    memcpy(r.dev.disk.data() + 2 * 2048, data.data(), data.size());
    r.prd(kTable, {{static_cast<u32>(kBuf), 4096, kPrdEot}});  // longer than the answer: allowed
    r.out(kBm + 4, 4, static_cast<u32>(kTable));
    r.out(kBm, 1, ide::kBmToMemory);
    r.packet(kRead10, true);
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    EXPECT_EQ(r.dev.bm_prd, kMonPrd);  // the engine walks the monitor's copy
    u8 const bm = r.complete();
    EXPECT_TRUE(bm & ide::kBmIntr);
    EXPECT_EQ(guest_at(r, kBuf, 2048), data);
    EXPECT_EQ(r.in(kBm + 4, 4), kTable);
}

TEST(IdeAtapi, PacketDmaIntoMonitorMemoryIsRefusedAndNothingMoves) {
    CdRig r;
    std::vector<u8> const before = guest_at(r, kHiddenBase, 2048);
    memset(r.dev.disk.data() + 2 * 2048, 0xAB, 2048);
    r.prd(kTable, {{static_cast<u32>(kHiddenBase), 2048, kPrdEot}});
    r.out(kBm + 4, 4, static_cast<u32>(kTable));
    r.out(kBm, 1, ide::kBmToMemory);
    r.packet(kRead10, true);
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    r.dev.tick();
    EXPECT_TRUE(r.dev.logged("packet DMA of READ(10) refused"));
    EXPECT_EQ(r.dev.commands.back(), cmd::kDeviceReset);
    EXPECT_EQ(guest_at(r, kHiddenBase, 2048), before);
}

TEST(IdeAtapi, AStartBitBeforeTheBlockStillWaitsForTheShadow) {
    CdRig r;
    r.prd(kTable, {{static_cast<u32>(kHiddenBase), 2048, kPrdEot}});
    r.out(kBm + 4, 4, static_cast<u32>(kTable));
    r.out(kBm, 1, ide::kBmToMemory);
    r.out(kCmd + 1, 1, 1);
    r.out(kCmd + 7, 1, cmd::kPacket);
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);  // ahead of the block
    EXPECT_FALSE(r.dev.bm_cmd & ide::kBmStart);       // not on the device
    for (u32 i = 0; i < 12; i += 2) r.out(kCmd, 2, static_cast<u32>(kRead10[i] | kRead10[i + 1] << 8));
    r.dev.tick();
    EXPECT_TRUE(r.dev.logged("PRD region outside guest RAM"));
}
