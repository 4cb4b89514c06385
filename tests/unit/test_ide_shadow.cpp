// The IDE mediator against a fake device and fake guest memory: DMA through the shadowed PRD
// table and the bounce buffer, PIO through the sector buffer, refused commands, key policy.
#include <gtest/gtest.h>

#include <string.h>

#include <algorithm>

#include "tests/unit/test_ide_fake.hpp"

using namespace tv;
using namespace tv::ata;
using namespace idefake;

namespace {

constexpr u64 kTable = 0x1000, kBufA = 0x10000, kBufB = 0x30000;

}  // namespace

TEST(IdeDma, ReadThroughTheBounceBufferYieldsPlaintext) {
    use_key(512);
    Rig r;
    ASSERT_TRUE(r.ch.crypt(0).active());
    auto const plain = pattern(8 * 512, 1);
    write_disk(r, 100, xts(true, 100, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 4096, 0}, {static_cast<u32>(kBufB), 0, kPrdEot}});  // 0 = 64 KiB: too much
    r.dma(cmd::kReadDma, 100, 8, kTable, true);
    EXPECT_TRUE(r.dev.logged("PRD byte count differs"));  // 4 KiB + 64 KiB for 4 KiB of sectors
    r.prd(kTable, {{static_cast<u32>(kBufA), 2048, 0}, {static_cast<u32>(kBufB), 2048, kPrdEot}});
    r.dma(cmd::kReadDma, 100, 8, kTable, true);
    EXPECT_EQ(r.dev.bm_prd, kMonPrd);  // the device walks the monitor's table
    u8 const bm = r.complete();
    EXPECT_TRUE(bm & ide::kBmIntr);
    EXPECT_EQ(guest_at(r, kBufA, 2048), std::vector<u8>(plain.begin(), plain.begin() + 2048));
    EXPECT_EQ(guest_at(r, kBufB, 2048), std::vector<u8>(plain.begin() + 2048, plain.end()));
    EXPECT_EQ(r.in(kBm + 4, 4), kTable);  // the guest still sees its own pointer
    EXPECT_EQ(r.dev.bm_prd, kTable);      // and it is back in the register
    EXPECT_EQ(r.status() & (st::kErr | st::kBsy), 0);
}

TEST(IdeDma, WriteReachesTheDiskEncryptedAndLeavesGuestBuffersAlone) {
    use_key(512);
    Rig r;
    auto const plain = pattern(16 * 512, 7);
    memcpy(r.dev.phys.data() + kBufA, plain.data(), plain.size());
    r.prd(kTable, {{static_cast<u32>(kBufA), static_cast<u16>(plain.size()), kPrdEot}});
    r.dma(cmd::kWriteDmaExt, 0x1'0000'0000ull % 4000, 16, kTable, false);
    r.complete();
    u64 const lba = 0x1'0000'0000ull % 4000;
    EXPECT_EQ(disk_at(r, lba, plain.size()), xts(true, lba, plain, 512));
    EXPECT_EQ(guest_at(r, kBufA, plain.size()), plain);
}

TEST(IdeDma, PrdRegionInMonitorMemoryIsRefusedAndNothingMoves) {
    use_key(512);
    Rig r;
    std::vector<u8> const before = guest_at(r, kHiddenBase, 4096);
    r.prd(kTable, {{static_cast<u32>(kHiddenBase), 4096, kPrdEot}});
    r.dma(cmd::kReadDma, 0, 8, kTable, true);
    r.dev.tick();
    EXPECT_EQ(guest_at(r, kHiddenBase, 4096), before);
    EXPECT_EQ(r.dev.commands.back(), cmd::kCheckPower);  // the stand-in, never READ DMA
    EXPECT_TRUE(r.dev.logged("refused READ DMA (0xc8): PRD region outside guest RAM"));
    EXPECT_EQ(r.status() & (st::kErr | st::kDrdy | st::kBsy), st::kErr | st::kDrdy);
    EXPECT_EQ(r.in(kCmd + 1), st::kErrAbrt);
    EXPECT_EQ(r.ch.counters().refused, 1u);
}

TEST(IdeDma, PrdRegionStraddlingMonitorMemoryIsRefused) {
    use_key(512);
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kHiddenBase - 2048), 4096, kPrdEot}});
    r.dma(cmd::kWriteDma, 0, 8, kTable, false);
    EXPECT_TRUE(r.dev.logged("PRD region outside guest RAM"));
    EXPECT_EQ(std::count(r.dev.commands.begin(), r.dev.commands.end(), cmd::kWriteDma), 0);
}

TEST(IdeDma, PrdTableInMonitorMemoryIsRefused) {
    use_key(512);
    Rig r;
    r.dma(cmd::kReadDma, 0, 1, kHiddenBase + 0x100, true);
    EXPECT_TRUE(r.dev.logged("PRD table outside guest RAM"));
}

TEST(IdeDma, RewritingThePrdTableAfterStartChangesNothing) {
    use_key(512);
    Rig r;
    auto const plain = pattern(4096, 3);
    write_disk(r, 8, xts(true, 8, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 4096, kPrdEot}});
    r.dma(cmd::kReadDma, 8, 8, kTable, true);
    // The guest now points its table at monitor memory and at another buffer.
    r.prd(kTable, {{static_cast<u32>(kHiddenBase), 4096, kPrdEot}});
    std::vector<u8> const hidden = guest_at(r, kHiddenBase, 4096);
    r.complete();
    EXPECT_EQ(guest_at(r, kBufA, 4096), plain);
    EXPECT_EQ(guest_at(r, kHiddenBase, 4096), hidden);
}

TEST(IdeDma, RewritingTheLbaRegistersBeforeStartCannotRetargetTheCommand) {
    use_key(512);
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    r.out(kBm + 4, 4, kTable);
    r.taskfile(40, 1, false);
    r.out(kCmd + 7, 1, cmd::kWriteDma);
    r.taskfile(41, 1, false);  // after the command, before the start bit
    r.out(kBm, 1, ide::kBmStart);
    r.complete();
    EXPECT_EQ(r.dev.dma_lba_seen, 40u);
}

TEST(IdeDma, TableWithoutEndMarkIsRefused) {
    use_key(512);
    Rig r;
    std::vector<PrdEntry> many(kMaxPrdEntries + 1, PrdEntry{static_cast<u32>(kBufA), 2, 0});
    r.prd(kTable, many);
    r.dma(cmd::kReadDmaExt, 0, 1, kTable, true);
    EXPECT_TRUE(r.dev.logged("PRD byte count differs") || r.dev.logged("without end-of-table"));
    r.dma(cmd::kReadDma, 0, 0, kTable, true);  // 256 sectors: more than 513 x 2 bytes
    EXPECT_TRUE(r.dev.logged("without end-of-table"));
}

TEST(IdeDma, MalformedRegionsAreRefused) {
    use_key(512);
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kBufA + 1), 512, kPrdEot}});
    r.dma(cmd::kReadDma, 0, 1, kTable, true);
    EXPECT_TRUE(r.dev.logged("odd address"));
    r.prd(kTable, {{static_cast<u32>(kBounceBytes + kMonBounce - 0x1000), 512, kPrdEot}});  // the bounce buffer
    r.dma(cmd::kReadDma, 0, 1, kTable, true);
    EXPECT_TRUE(r.dev.logged("PRD region outside guest RAM"));
}

TEST(IdeDma, RegionCrossingA64KiBBoundaryIsSplitNotRefused) {
    ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok);  // direct (unencrypted) DMA
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kBufA + 0xFF00), 512, kPrdEot}});  // 256 bytes each side
    r.dma(cmd::kReadDma, 0, 1, kTable, true);
    EXPECT_FALSE(r.dev.logged("refused"));
}

TEST(IdeDma, ByteCountMustMatchTheSectorCount) {
    use_key(512);
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kBufA), 1024, kPrdEot}});
    r.dma(cmd::kReadDma, 0, 3, kTable, true);  // 1536 bytes asked, 1024 described
    EXPECT_TRUE(r.dev.logged("PRD byte count differs"));
    r.dev.logs.clear();
    r.dma(cmd::kReadDma, 0, 1, kTable, true);  // 512 asked, 1024 described
    EXPECT_TRUE(r.dev.logged("PRD byte count differs"));
    EXPECT_EQ(r.ch.counters().dma_commands, 0u);
}

TEST(IdeDma, DirectionMismatchIsRefused) {
    use_key(512);
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    r.dma(cmd::kWriteDma, 0, 1, kTable, true);  // bus master told "to memory" for a write
    EXPECT_TRUE(r.dev.logged("direction"));
}

TEST(IdeDma, TransferLargerThanTheBounceBufferIsRefused) {
    use_key(512);
    Rig r;
    std::vector<PrdEntry> t;
    for (u32 i = 0; i < 9; ++i) t.push_back(PrdEntry{static_cast<u32>(i * 0x10000), 0, 0});
    t.back().flags = kPrdEot;  // 9 x 64 KiB = 576 KiB > the fake's 512 KiB bounce buffer
    r.prd(0x1F0000, t);
    r.dma(cmd::kReadDmaExt, 0, 9 * 128, 0x1F0000, true);
    EXPECT_TRUE(r.dev.logged("larger than the bounce buffer"));
}

TEST(IdeDma, StartBitBeforeTheCommandWorksToo) {
    use_key(512);
    Rig r;
    auto const plain = pattern(1024, 9);
    write_disk(r, 5, xts(true, 5, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 1024, kPrdEot}});
    r.out(kBm + 4, 4, kTable);
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    EXPECT_TRUE(r.in(kBm + 2) & ide::kBmActive);
    r.taskfile(5, 2, false);
    r.out(kCmd + 7, 1, cmd::kReadDma);
    r.complete();
    EXPECT_EQ(guest_at(r, kBufA, 1024), plain);
}

TEST(IdeDma, CompletionSeenThroughAtaStatusFirstAlsoDecrypts) {
    use_key(512);
    Rig r;
    auto const plain = pattern(512, 4);
    write_disk(r, 9, xts(true, 9, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    r.dma(cmd::kReadDma, 9, 1, kTable, true);
    r.dev.tick();
    EXPECT_EQ(r.in(kCtrl) & st::kBsy, 0u);  // alternate status first
    EXPECT_EQ(guest_at(r, kBufA, 512), plain);
}

TEST(IdeDma, UnencryptedDiskGetsValidatedGuestBuffersDirectly) {
    ASSERT_EQ(sector_crypt_set_keys(nullptr, 0, false), Status::Ok);
    Rig r;
    EXPECT_EQ(r.ch.crypt(0).policy(), DiskPolicy::PassThrough);
    auto const plain = pattern(512, 2);
    write_disk(r, 3, plain);
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    r.dma(cmd::kReadDma, 3, 1, kTable, true);
    PrdEntry e;
    memcpy(&e, r.dev.phys.data() + kMonPrd, sizeof e);
    EXPECT_EQ(e.base, kBufA);  // a monitor-owned copy of the validated entry
    r.complete();
    EXPECT_EQ(guest_at(r, kBufA, 512), plain);
    r.prd(kTable, {{static_cast<u32>(kHiddenBase), 512, kPrdEot}});
    r.dma(cmd::kReadDma, 3, 1, kTable, true);
    EXPECT_TRUE(r.dev.logged("PRD region outside guest RAM"));  // validated all the same
}

TEST(IdeDma, FourKiBSectorsUseFourKiBDataUnits) {
    use_key(4096);
    Rig r{4096};
    ASSERT_TRUE(r.ch.crypt(0).active());
    EXPECT_EQ(r.ch.crypt(0).sector_size(), 4096u);
    auto const plain = pattern(3 * 4096, 5);
    write_disk(r, 11, xts(true, 11, plain, 4096));
    r.prd(kTable, {{static_cast<u32>(kBufA), static_cast<u16>(plain.size()), kPrdEot}});
    r.dma(cmd::kReadDmaExt, 11, 3, kTable, true);
    r.complete();
    EXPECT_EQ(guest_at(r, kBufA, plain.size()), plain);
    memcpy(r.dev.phys.data() + kBufB, plain.data(), 4096);
    r.prd(kTable, {{static_cast<u32>(kBufB), 4096, kPrdEot}});
    r.dma(cmd::kWriteDmaExt, 20, 1, kTable, false);
    r.complete();
    EXPECT_EQ(disk_at(r, 20, 4096), xts(true, 20, std::vector<u8>(plain.begin(), plain.begin() + 4096), 4096));
}
