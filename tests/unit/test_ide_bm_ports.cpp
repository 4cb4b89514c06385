// The bus-master ports exit only while the mediator has a DMA command in hand: the guest's
// PRD pointer is read back from the device when the command is written, the device walks
// only the monitor's table, the guest's value is put back afterwards, and with the ports
// passed through the guest cannot make the device move a byte (tests/unit/test_ide_fake.hpp
// keeps the port bitmap and sends untrapped accesses straight to the fake device).
#include <gtest/gtest.h>

#include <string.h>

#include <algorithm>

#include "tests/unit/test_ide_fake.hpp"

using namespace tv;
using namespace tv::ata;
using namespace idefake;

namespace {

constexpr u64 kTable = 0x1000, kTable2 = 0x2000, kBufA = 0x10000, kBufB = 0x30000;

// ata_piix under libata-sff (Linux 6.1), one command: ata_sff_tf_load, ata_bmdma_setup (with
// exec_command and its pause), ata_bmdma_start.
void linux_issue(Rig& r, u8 op, u64 lba, u16 count, u64 table, bool read) {
    r.taskfile(lba, count, op == cmd::kReadDmaExt || op == cmd::kWriteDmaExt);
    r.out(kBm + 4, 4, static_cast<u32>(table));
    u8 dmactl = static_cast<u8>(r.in(kBm) & ~(ide::kBmToMemory | ide::kBmStart));
    if (read) dmactl |= ide::kBmToMemory;
    r.out(kBm, 1, dmactl);
    r.out(kCmd + 7, 1, op);
    r.in(kCtrl);  // ata_sff_pause
    r.out(kBm, 1, r.in(kBm) | ide::kBmStart);
}

// The interrupt: ata_bmdma_port_intr (BM status, ata_bmdma_stop with its pause), the status
// reads of __ata_sff_port_intr, ata_bmdma_irq_clear. Returns the first BM status.
u8 linux_interrupt(Rig& r) {
    u8 const host_stat = static_cast<u8>(r.in(kBm + 2));
    r.out(kBm, 1, r.in(kBm) & ~ide::kBmStart);
    r.in(kCtrl);
    r.in(kCtrl);
    r.status();
    r.out(kBm + 2, 1, r.in(kBm + 2));
    return host_stat;
}

bool bm_passed(Rig& r) {
    for (u16 p = kBm; p < kBm + 8; ++p)
        if (r.dev.intercepted(p)) return false;
    return !r.ch.bm_intercepted();
}

}  // namespace

TEST(IdeBmPorts, LinuxDmaCostsThreeBusMasterExits) {
    use_key(512);
    Rig r;
    auto const plain = pattern(8 * 512, 21);
    write_disk(r, 30, xts(true, 30, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 4096, kPrdEot}});
    for (int round = 0; round < 3; ++round) {
        memset(r.dev.phys.data() + kBufA, 0, 4096);
        u32 const bm_before = r.bm_exits;
        linux_issue(r, cmd::kReadDma, 30, 8, kTable, true);
        r.dev.tick();
        EXPECT_TRUE(linux_interrupt(r) & ide::kBmIntr);
        EXPECT_EQ(guest_at(r, kBufA, 4096), plain);
        // The first round begins with the ports as the backends built them (all exiting).
        if (round > 0) {  // start: read, write; the interrupt's status
            EXPECT_EQ(r.bm_exits - bm_before, 3u);
        }
        EXPECT_TRUE(bm_passed(r));
    }
    EXPECT_EQ(r.dev.dma_table_seen, kMonPrd);
    EXPECT_EQ(r.ch.counters().dma_commands, 3u);
}

TEST(IdeBmPorts, InterceptedFromTheCommandUntilTheDeviceIsDone) {
    use_key(512);
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    r.out(kBm + 4, 4, kTable);  // the ports still exit (as built); this lets them go
    EXPECT_TRUE(bm_passed(r));
    r.taskfile(1, 1, false);
    r.out(kCmd + 7, 1, cmd::kReadDma);
    EXPECT_FALSE(bm_passed(r));  // held: the start bit must come through the mediator
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    EXPECT_FALSE(bm_passed(r));  // running
    EXPECT_EQ(r.in(kBm + 4, 4), kTable);  // the guest's value, not the monitor's table
    EXPECT_EQ(r.dev.bm_prd, kMonPrd);
    r.dev.tick();
    EXPECT_TRUE(r.in(kBm + 2) & ide::kBmIntr);  // the first look ends it
    EXPECT_TRUE(bm_passed(r));
    EXPECT_EQ(r.dev.bm_prd, kTable);  // the device register holds the guest's value again
}

TEST(IdeBmPorts, PointerWrittenStraightToTheDeviceIsReadBackAtTheCommand) {
    use_key(512);
    Rig r;
    auto const plain = pattern(1024, 22);
    write_disk(r, 50, xts(true, 50, plain, 512));
    r.prd(kTable2, {{static_cast<u32>(kBufB), 1024, kPrdEot}});
    r.out(kBm + 2, 1, 0);  // let the ports go
    ASSERT_TRUE(bm_passed(r));
    u32 const exits = r.exits;
    r.out(kBm + 4, 4, kTable2);
    r.out(kBm, 1, ide::kBmToMemory);
    EXPECT_EQ(r.exits, exits);  // no exit: the device holds the guest's pointer
    EXPECT_EQ(r.dev.bm_prd, kTable2);
    r.taskfile(50, 2, false);
    r.out(kCmd + 7, 1, cmd::kReadDma);
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    r.complete();
    EXPECT_EQ(guest_at(r, kBufB, 1024), plain);
    EXPECT_EQ(r.dev.dma_table_seen, kMonPrd);
    EXPECT_EQ(r.in(kBm + 4, 4), kTable2);
}

TEST(IdeBmPorts, PointerOrTableRewrittenAfterTheStartChangesNothing) {
    use_key(512);
    Rig r;
    auto const plain = pattern(4096, 23);
    write_disk(r, 60, xts(true, 60, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 4096, kPrdEot}});
    r.prd(kTable2, {{static_cast<u32>(kHiddenBase), 4096, kPrdEot}});
    std::vector<u8> const hidden = guest_at(r, kHiddenBase, 4096);
    linux_issue(r, cmd::kReadDma, 60, 8, kTable, true);
    // Both ways of retargeting: a new pointer, and the old table pointed elsewhere.
    r.out(kBm + 4, 4, kTable2);
    r.prd(kTable, {{static_cast<u32>(kHiddenBase), 4096, kPrdEot}});
    EXPECT_EQ(r.dev.bm_prd, kMonPrd);  // the write went to the mediator, not to the device
    r.dev.tick();
    linux_interrupt(r);
    EXPECT_EQ(r.dev.dma_table_seen, kMonPrd);
    EXPECT_EQ(guest_at(r, kBufA, 4096), plain);
    EXPECT_EQ(guest_at(r, kHiddenBase, 4096), hidden);
    EXPECT_EQ(r.in(kBm + 4, 4), kTable2);  // the guest reads what it wrote last
    EXPECT_EQ(r.dev.bm_prd, kTable2);
}

TEST(IdeBmPorts, PointerRewrittenBetweenCommandAndStartIsTheOneValidated) {
    use_key(512);
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    r.prd(kTable2, {{static_cast<u32>(kHiddenBase), 512, kPrdEot}});
    r.out(kBm + 4, 4, kTable);
    r.out(kBm, 1, ide::kBmToMemory);
    r.taskfile(2, 1, false);
    r.out(kCmd + 7, 1, cmd::kReadDma);
    r.out(kBm + 4, 4, kTable2);  // intercepted now: the shadow is taken from it at the start
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    EXPECT_TRUE(r.dev.logged("PRD region outside guest RAM"));
    EXPECT_EQ(std::count(r.dev.commands.begin(), r.dev.commands.end(), cmd::kReadDma), 0);
    EXPECT_TRUE(bm_passed(r));  // refused: nothing of the monitor's is on the device
}

TEST(IdeBmPorts, StartWithoutAMediatedCommandMovesNothing) {
    use_key(512);
    Rig r;
    r.prd(kTable2, {{static_cast<u32>(kHiddenBase), 512, kPrdEot}});
    std::vector<u8> const hidden = guest_at(r, kHiddenBase, 512);
    r.out(kBm + 2, 1, 0);
    ASSERT_TRUE(bm_passed(r));
    // The engine armed straight on the device, with a table into monitor memory.
    r.out(kBm + 4, 4, kTable2);
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    r.dev.tick();
    // An allowed command that moves data, but by PIO.
    r.taskfile(3, 1, false);
    r.out(kCmd + 7, 1, cmd::kReadSectors);
    r.dev.tick();
    for (int i = 0; i < 256; ++i) r.in(kCmd, 2);
    EXPECT_EQ(r.dev.dma_table_seen, ~0u);
    // A DMA command: the start bit leaves the device before the command could reach it,
    // and the table is validated from the pointer read back.
    r.taskfile(3, 1, false);
    r.out(kCmd + 7, 1, cmd::kReadDma);
    EXPECT_TRUE(r.dev.logged("refused READ DMA (0xc8): PRD region outside guest RAM"));
    r.dev.tick();
    EXPECT_EQ(std::count(r.dev.commands.begin(), r.dev.commands.end(), cmd::kReadDma), 0);
    EXPECT_EQ(r.dev.dma_table_seen, ~0u);
    EXPECT_EQ(guest_at(r, kHiddenBase, 512), hidden);
}

TEST(IdeBmPorts, StartStraightOnTheDeviceBeforeTheCommandStillRuns) {
    use_key(512);
    Rig r;
    auto const plain = pattern(1024, 24);
    write_disk(r, 70, xts(true, 70, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 1024, kPrdEot}});
    r.out(kBm + 2, 1, 0);
    ASSERT_TRUE(bm_passed(r));
    r.out(kBm + 4, 4, kTable);
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    EXPECT_EQ(r.dev.bm_latched, kTable);  // the engine took the guest's table
    r.taskfile(70, 2, false);
    r.out(kCmd + 7, 1, cmd::kReadDma);
    EXPECT_EQ(r.dev.bm_latched, kMonPrd);  // a new start edge, with the monitor's table
    EXPECT_TRUE(r.in(kBm) & ide::kBmStart);  // as the guest set it
    r.complete();
    EXPECT_EQ(guest_at(r, kBufA, 1024), plain);
    EXPECT_EQ(r.dev.dma_table_seen, kMonPrd);
}

TEST(IdeBmPorts, StaleInterruptBitDoesNotEndTheNextTransfer) {
    use_key(512);
    Rig r;
    auto const plain = pattern(512, 25);
    write_disk(r, 80, xts(true, 80, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    linux_issue(r, cmd::kReadDma, 80, 1, kTable, true);
    r.dev.tick();
    r.in(kBm + 2);  // seen, but the guest never clears the interrupt bit
    r.out(kBm, 1, ide::kBmToMemory);
    ASSERT_TRUE(r.in(kBm + 2) & ide::kBmIntr);
    memset(r.dev.phys.data() + kBufA, 0, 512);
    linux_issue(r, cmd::kReadDma, 80, 1, kTable, true);
    EXPECT_FALSE(r.in(kBm + 2) & ide::kBmIntr);  // before the transfer: not done
    EXPECT_TRUE(r.ch.dma_in_flight());
    EXPECT_FALSE(bm_passed(r));
    r.dev.tick();
    linux_interrupt(r);
    EXPECT_EQ(guest_at(r, kBufA, 512), plain);
}

TEST(IdeBmPorts, ACommandLeftOnTheDeviceKeepsThePortsUntilReset) {
    use_key(512);
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    r.prd(kTable2, {{static_cast<u32>(kHiddenBase), 512, kPrdEot}});
    std::vector<u8> const hidden = guest_at(r, kHiddenBase, 512);
    linux_issue(r, cmd::kReadDma, 4, 1, kTable, true);
    r.out(kBm, 1, ide::kBmToMemory);  // stopped before the data moved: READ DMA still waits
    EXPECT_FALSE(r.ch.dma_in_flight());
    EXPECT_TRUE(r.status() & st::kDrq);
    EXPECT_FALSE(bm_passed(r));
    // A restart with the guest's own table would resume the command: it stays with the mediator.
    r.out(kBm + 4, 4, kTable2);
    r.out(kBm, 1, ide::kBmToMemory | ide::kBmStart);
    r.dev.tick();
    EXPECT_EQ(guest_at(r, kHiddenBase, 512), hidden);
    EXPECT_NE(r.dev.dma_table_seen, kTable2);
    EXPECT_NE(r.dev.bm_latched, kTable2);
    r.out(kCtrl, 1, ide::kCtlSrst);
    r.out(kCtrl, 1, 0);
    r.out(kBm, 1, ide::kBmToMemory);  // the guest withdraws its start request
    EXPECT_FALSE(bm_passed(r));
    r.status();  // the device is seen idle after the reset
    EXPECT_TRUE(bm_passed(r));
    EXPECT_EQ(r.dev.bm_prd, kTable2);
}

TEST(IdeBmPorts, WithSeveralVcpusThePortsStayIntercepted) {
    use_key(512);
    Rig r;
    r.dev.switchable = false;
    auto const plain = pattern(4096, 26);
    write_disk(r, 90, xts(true, 90, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 4096, kPrdEot}});
    for (int round = 0; round < 2; ++round) {
        u32 const bm_before = r.bm_exits;
        linux_issue(r, cmd::kReadDma, 90, 8, kTable, true);
        r.dev.tick();
        linux_interrupt(r);
        EXPECT_EQ(guest_at(r, kBufA, 4096), plain);
        EXPECT_EQ(r.bm_exits - bm_before, 10u);  // every bus-master access, as before
        EXPECT_FALSE(bm_passed(r));
        EXPECT_EQ(r.in(kBm + 4, 4), kTable);
    }
    EXPECT_EQ(r.dev.switches, 0u);
}

TEST(IdeBmPorts, RefusedDmaCommandLeavesNothingOnTheDevice) {
    use_key(512);
    Rig r;
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    r.out(kBm + 2, 1, 0);
    linux_issue(r, cmd::kWriteDma, 0, 1, kTable, true);  // "to memory" for a write
    EXPECT_TRUE(r.dev.logged("direction"));
    EXPECT_EQ(r.dev.commands.back(), cmd::kCheckPower);
    EXPECT_TRUE(bm_passed(r));
    EXPECT_EQ(r.dev.bm_prd, kTable);
}

TEST(IdeBmPorts, WideWriteOfTheCommandRegisterIsMediatedToo) {
    use_key(512);
    Rig r;
    auto const plain = pattern(512, 27);
    write_disk(r, 7, xts(true, 7, plain, 512));
    r.prd(kTable, {{static_cast<u32>(kBufA), 512, kPrdEot}});
    r.out(kBm + 4, 4, kTable);
    r.out(kBm, 1, ide::kBmToMemory);
    r.taskfile(7, 1, false);
    r.out(kCmd + 7, 1, cmd::kReadDma);
    // Command and status in one 16-bit write: the start bit must not reach the engine as is.
    r.out(kBm, 2, (ide::kBmIntr << 8) | ide::kBmToMemory | ide::kBmStart);
    EXPECT_EQ(r.dev.bm_latched, kMonPrd);
    EXPECT_TRUE(r.ch.dma_in_flight());
    EXPECT_EQ(r.in(kBm, 2) & 0xFFu, static_cast<u32>(ide::kBmToMemory | ide::kBmStart));
    r.complete();
    EXPECT_EQ(guest_at(r, kBufA, 512), plain);
}
