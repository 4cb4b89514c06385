/* IDE bus-master DMA at the monitor (PIIX IDE, primary master, a scratch disk; ata_piix is
 * unbound first so the attacker owns the channel): PRDs into and out of the region, the PRD
 * table itself in the region, tables rewritten after the command (TOCTOU), malformed tables,
 * and the wide `out` at 0x1F6 that carries the command byte past the mediator (issue 12, 1). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/io.h>

#include "tva.h"

/* glibc's port I/O has no memory clobber: fence the PRD table writes around every access. */
#define OUTB(v, p) (barrier(), outb(v, p), barrier())
#define OUTW(v, p) (barrier(), outw(v, p), barrier())
#define OUTL(v, p) (barrier(), outl(v, p), barrier())

enum { CMD = 0x1f0, CTRL = 0x3f6, ATA_READ_DMA = 0xc8, ATA_WRITE_DMA = 0xca, EOT = 0x80000000u };

static struct pcidev ide;
static uint16_t bm;
static int ide_ready = -1;
static struct dpage prd, buf;

static int ide_setup(const char *name)
{
    if (ide_ready >= 0) {
        if (!ide_ready)
            skipped(name, "no PIIX IDE controller with a bus-master BAR");
        return ide_ready;
    }
    ide_ready = 0;
    if (pci_find(0, 0, 0xffff00, 0x010100, &ide) < 0 || !ide.bar[4] || dma_page(&prd) || dma_page(&buf)) {
        skipped(name, "no PIIX IDE controller with a bus-master BAR");
        return 0;
    }
    if (pci_unbind(&ide) < 0)
        note("could not unbind ata_piix from %s", ide.bdf);
    pci_cfg_write(&ide, 4, 2, pci_cfg_read(&ide, 4, 2) | 0x5); /* I/O + bus master */
    bm = (uint16_t)ide.bar[4];
    OUTB(0x02, CTRL); /* nIEN: nobody handles IRQ 14 now */
    ide_ready = 1;
    note("IDE %s, bus master at %#x, PRD page %#llx, buffer %#llx", ide.bdf, bm, (unsigned long long)prd.p,
         (unsigned long long)buf.p);
    return 1;
}

/* The scratch disk: the primary master under QEMU; under Bochs the guest's own disk is the
 * master (BIOS drive 0x80) and the scratch disk the slave (--targets ide_dev=0xf0). */
static uint8_t dev_sel(void) { return T.ide_dev ? (uint8_t)T.ide_dev : 0xe0; }

static int wait_not_busy(double secs)
{
    double end = now_s() + secs;
    uint8_t s;
    while (((s = inb(CMD + 7)) & 0x80) && now_s() < end)
        ;
    return s;
}

static void taskfile(uint32_t lba, uint8_t count)
{
    wait_not_busy(1);
    OUTB(dev_sel() | (lba >> 24 & 0x0f), CMD + 6);
    wait_not_busy(1);
    OUTB(count, CMD + 2);
    OUTB(lba & 0xff, CMD + 3);
    OUTB(lba >> 8 & 0xff, CMD + 4);
    OUTB(lba >> 16 & 0xff, CMD + 5);
}

static void bm_prepare(uint32_t table)
{
    OUTB(0, bm);
    OUTB(0x06, bm + 2); /* clear interrupt and error */
    OUTL(table, bm + 4);
}

/* Waits for the DMA to end; returns the ATA status (ERR = bit 0). */
static uint8_t bm_finish(void)
{
    double end = now_s() + 2;
    while (!(inb(bm + 2) & 0x04) && (inb(bm + 2) & 0x01) && now_s() < end)
        ;
    uint8_t st = wait_not_busy(1);
    OUTB(0, bm);
    OUTB(0x06, bm + 2);
    return st;
}

/* One DMA command; hook (may be NULL) runs right after the start bit, once the monitor has
 * taken its copy of the PRD table (a rewrite before the start is simply validated). */
static uint8_t ide_dma(int write, uint32_t lba, uint8_t count, uint32_t table, void (*hook)(void))
{
    taskfile(lba, count);
    bm_prepare(table);
    OUTB(write ? ATA_WRITE_DMA : ATA_READ_DMA, CMD + 7);
    OUTB(write ? 0x01 : 0x09, bm); /* bit 3: the device writes memory (an ATA read) */
    if (hook)
        hook();
    return bm_finish();
}

static void set_prd(int i, uint64_t addr, uint32_t bytes, int eot)
{
    uint32_t *e = (uint32_t *)prd.v + i * 2;
    e[0] = (uint32_t)addr;
    e[1] = (bytes & 0xffff) | (eot ? EOT : 0);
}

/* A mediated, well-formed read of one sector into buf; returns its status. */
static uint8_t read_back(uint32_t lba)
{
    memset(buf.v, 0, 512);
    set_prd(0, buf.p, 512, 1);
    return ide_dma(0, lba, 1, (uint32_t)prd.p, NULL);
}

static void judge_disk(const char *name, uint32_t lba, uint8_t st, const char *how)
{
    uint8_t rs = read_back(lba);
    if (!all_zero(buf.v, 512)) {
        hexdump_line(name, buf.v, 64);
        breach(name, "LBA %u now holds data%s (status %#x, read-back %#x)", lba,
               has_canary_prefix(buf.v, 512) ? " with the canary prefix" : "", st, rs);
    } else if (st & 1)
        defended(name, "%s: aborted (status %#x), LBA %u still zero", how, st, lba);
    else
        defended(name, "%s: status %#x, LBA %u still zero (host scans the disk)", how, st, lba);
}

static void ide_dma_read_into_monitor(const char *name)
{
    if (ide_setup(name) != 1)
        return;
    set_prd(0, slice(3), 512, 1);
    uint8_t st = ide_dma(0, 64, 1, (uint32_t)prd.p, NULL);
    if (st & 1)
        defended(name, "READ DMA with its PRD in the region aborted (status %#x)", st);
    else
        breach(name, "READ DMA into the region completed (status %#x)", st);
}

static void ide_dma_write_from_monitor(const char *name)
{
    if (ide_setup(name) != 1)
        return;
    set_prd(0, T.ide_bounce ? T.ide_bounce : T.code, 512, 1);
    judge_disk(name, 128, ide_dma(1, 128, 1, (uint32_t)prd.p, NULL), "WRITE DMA from the region");
}

static void ide_prd_table_in_monitor(const char *name)
{
    if (ide_setup(name) != 1)
        return;
    judge_disk(name, 192, ide_dma(1, 192, 1, (uint32_t)slice(15), NULL), "PRD table in the region");
}

static void rewrite_to_slice5(void) { set_prd(0, slice(5), 512, 1); }
static void rewrite_to_code(void) { set_prd(0, T.heap ? T.heap : T.data, 512, 1); }

static void ide_toctou_read(const char *name)
{
    if (ide_setup(name) != 1)
        return;
    memset(buf.v, 0x77, 512); /* a known sector, then read it with the table rewritten late */
    set_prd(0, buf.p, 512, 1);
    uint8_t w = ide_dma(1, 256, 1, (uint32_t)prd.p, NULL);
    memset(buf.v, 0, 512);
    set_prd(0, buf.p, 512, 1);
    uint8_t st = ide_dma(0, 256, 1, (uint32_t)prd.p, rewrite_to_slice5);
    int landed = buf.v[0] == 0x77 && buf.v[511] == 0x77;
    if (st & 1)
        defended(name, "aborted (status %#x)", st);
    else if (landed)
        defended(name, "the sector landed in the buffer named at the command (write %#x, read %#x)", w, st);
    else
        breach(name, "the rewritten PRD was followed: the data did not reach the original buffer (status %#x)", st);
}

static void ide_toctou_write(const char *name)
{
    if (ide_setup(name) != 1)
        return;
    memset(buf.v, 0x77, 512);
    set_prd(0, buf.p, 512, 1);
    uint8_t st = ide_dma(1, 320, 1, (uint32_t)prd.p, rewrite_to_code);
    uint8_t rs = read_back(320);
    if (has_canary_prefix(buf.v, 512) || (!(st & 1) && buf.v[0] != 0x77)) {
        hexdump_line(name, buf.v, 64);
        breach(name, "the disk got the rewritten PRD's data (status %#x, read-back %#x)", st, rs);
    } else
        defended(name, "the disk holds the data named at the command (status %#x)", st);
}

static void malformed(const char *name, uint32_t lba, uint64_t addr, uint32_t bytes, int entries, int eot)
{
    if (ide_setup(name) != 1)
        return;
    for (int i = 0; i < entries; i++)
        set_prd(i, addr, bytes, eot && i == entries - 1);
    uint8_t st = ide_dma(1, lba, 1, (uint32_t)prd.p, NULL);
    memset(prd.v, 0, 4096);
    if (st & 1)
        defended(name, "refused (status %#x)", st);
    else
        breach(name, "the monitor passed a malformed PRD table (status %#x)", st);
}

static void ide_prd_zero_length(const char *name) { malformed(name, 384, buf.p, 0, 1, 1); }
static void ide_prd_wrap(const char *name) { malformed(name, 448, 0xffffff00u, 512, 1, 1); }
static void ide_prd_oversized(const char *name) { malformed(name, 512, buf.p, 0x8000, 1, 1); }
static void ide_prd_no_eot(const char *name) { malformed(name, 576, buf.p, 2, 512, 0); }

/* Issue 12, item 1: a 16-bit out at 0x1F6 writes 0x1F6 and 0x1F7 (the command register). */
static void ide_wide_out_1f6(const char *name)
{
    if (ide_setup(name) != 1)
        return;
    set_prd(0, T.data, 512, 1);
    taskfile(640, 1);
    bm_prepare((uint32_t)prd.p);
    OUTW((uint16_t)(ATA_WRITE_DMA << 8 | dev_sel()), CMD + 6);
    OUTB(0x01, bm);
    judge_disk(name, 640, bm_finish(), "WRITE DMA through a 16-bit out at 0x1F6");
}

static void ide_pio_4kn(const char *name)
{
    skipped(name, "needs a 4096-byte-sector ATA disk: QEMU 7.2 refuses logical_block_size=4096 on ide-hd "
                  "(docs/ata.md); the overflow is covered by the host tests of the PIO path");
}

static void ide_taskfile_race(const char *name)
{
    skipped(name, "needs a second guest CPU rewriting the taskfile during the command byte's exit: "
                  "not in this single-CPU boot");
}

const struct attack ide_attacks[] = {
    {"ide-dma-read-into-monitor", ide_dma_read_into_monitor},
    {"ide-dma-write-from-monitor", ide_dma_write_from_monitor},
    {"ide-prd-table-in-monitor", ide_prd_table_in_monitor},
    {"ide-toctou-read", ide_toctou_read},
    {"ide-toctou-write", ide_toctou_write},
    {"ide-prd-zero-length", ide_prd_zero_length},
    {"ide-prd-wrap", ide_prd_wrap},
    {"ide-prd-oversized", ide_prd_oversized},
    {"ide-prd-no-eot", ide_prd_no_eot},
    {"ide-wide-out-1f6", ide_wide_out_1f6},
    {"ide-pio-4kn", ide_pio_4kn},
    {"ide-taskfile-race", ide_taskfile_race},
    {NULL, NULL},
};
