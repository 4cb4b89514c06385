/* AHCI DMA at the monitor (port 1, a scratch disk; the ahci driver is unbound first): PRDs into
 * and out of the region, the command list in the region, PRDTs rewritten after PxCI (TOCTOU),
 * and malformed PRDTs (odd/zero length, oversized tables, addresses that wrap). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "tva.h"

enum { PORT = 1, CLB = 0x00, CLBU = 0x04, FB = 0x08, FBU = 0x0c, IS = 0x10, IE = 0x14, PCMD = 0x18, TFD = 0x20,
       SERR = 0x30, CI = 0x38 };
enum { READ_EXT = 0x25, WRITE_EXT = 0x35 };

static struct pcidev ahci;
static volatile uint32_t *abar, *port;
static struct dpage mem, dbuf; /* mem: command list 0, FIS 0x400, table 0x800 (PRDT at 0x880) */
static int ahci_ready = -1;

static uint32_t rd(int r)
{
    barrier();
    uint32_t v = port[r / 4];
    barrier();
    return v;
}
static void wr(int r, uint32_t v)
{
    barrier();
    port[r / 4] = v;
    barrier();
}

static int wait_clear(int r, uint32_t bits, double secs)
{
    double end = now_s() + secs;
    while ((rd(r) & bits) && now_s() < end)
        ;
    return !(rd(r) & bits);
}

static void port_restart(uint64_t clb)
{
    wr(PCMD, rd(PCMD) & ~1u);
    wait_clear(PCMD, 1u << 15, 0.5);
    wr(PCMD, rd(PCMD) & ~(1u << 4));
    wait_clear(PCMD, 1u << 14, 0.5);
    wr(CLB, (uint32_t)clb);
    wr(CLBU, (uint32_t)(clb >> 32));
    wr(FB, (uint32_t)mem.p + 0x400);
    wr(FBU, 0);
    wr(SERR, 0xffffffffu);
    wr(IS, 0xffffffffu);
    wr(IE, 0);
    wr(PCMD, rd(PCMD) | 1u << 4 | 0x6);
    wr(PCMD, rd(PCMD) | 1u);
}

static int ahci_setup(const char *name)
{
    if (ahci_ready >= 0) {
        if (!ahci_ready)
            skipped(name, "no AHCI controller");
        return ahci_ready;
    }
    ahci_ready = 0;
    if (pci_find(0, 0, 0xffffff, 0x010601, &ahci) < 0 || !ahci.bar[5] || dma_page(&mem) || dma_page(&dbuf)) {
        skipped(name, "no AHCI controller");
        return 0;
    }
    if (pci_unbind(&ahci) < 0)
        note("could not unbind ahci from %s", ahci.bdf);
    pci_cfg_write(&ahci, 4, 2, pci_cfg_read(&ahci, 4, 2) | 0x6);
    abar = devmem_map(ahci.bar[5], 4096);
    if (!abar) {
        skipped(name, "cannot map the ABAR");
        return 0;
    }
    port = abar + (0x100 + PORT * 0x80) / 4;
    port_restart(mem.p);
    ahci_ready = 1;
    note("AHCI %s port %d, command memory %#llx", ahci.bdf, PORT, (unsigned long long)mem.p);
    return 1;
}

static void set_prd(int i, uint64_t addr, uint32_t dbc_field)
{
    uint32_t *e = (uint32_t *)(mem.v + 0x880) + i * 4;
    e[0] = (uint32_t)addr;
    e[1] = (uint32_t)(addr >> 32);
    e[2] = 0;
    e[3] = dbc_field;
}

static void build(uint8_t cmd, uint32_t lba, uint16_t prdtl, uint64_t table)
{
    uint32_t *h = (uint32_t *)mem.v;
    h[0] = 5u | (cmd == WRITE_EXT ? 1u << 6 : 0) | (uint32_t)prdtl << 16;
    h[1] = 0;
    h[2] = (uint32_t)table;
    h[3] = (uint32_t)(table >> 32);
    uint8_t *f = mem.v + 0x800;
    memset(f, 0, 0x80);
    f[0] = 0x27, f[1] = 0x80, f[2] = cmd, f[7] = 0x40;
    f[4] = lba & 0xff, f[5] = lba >> 8 & 0xff, f[6] = lba >> 16 & 0xff;
    f[12] = 1; /* one sector */
}

/* Issues slot 0; hook runs right after the PxCI write. Returns 0 when it completed without error. */
static int issue(void (*hook)(void), uint32_t *tfd)
{
    wr(IS, 0xffffffffu);
    wr(CI, 1);
    if (hook)
        hook();
    double end = now_s() + 2;
    while ((rd(CI) & 1) && !(rd(IS) & 1u << 30) && now_s() < end)
        ;
    *tfd = rd(TFD);
    int bad = (rd(CI) & 1) || (rd(IS) & 1u << 30) || (*tfd & 1);
    if (bad)
        port_restart(mem.p);
    return bad ? -1 : 0;
}

static int one(uint8_t cmd, uint32_t lba, uint64_t addr, uint32_t dbc, void (*hook)(void), uint32_t *tfd)
{
    build(cmd, lba, 1, mem.p + 0x800);
    set_prd(0, addr, dbc);
    return issue(hook, tfd);
}

static void read_back(uint32_t lba)
{
    uint32_t tfd;
    memset(dbuf.v, 0, 512);
    one(READ_EXT, lba, dbuf.p, 511, NULL, &tfd);
}

static void ahci_read_into_monitor(const char *name)
{
    uint32_t tfd;
    if (ahci_setup(name) != 1)
        return;
    if (one(READ_EXT, 64, slice(6), 511, NULL, &tfd) < 0)
        defended(name, "READ DMA EXT into the region refused (TFD %#x)", tfd);
    else
        breach(name, "READ DMA EXT into the region completed (TFD %#x)", tfd);
}

static void judge_disk(const char *name, uint32_t lba, int rc, uint32_t tfd, const char *how)
{
    read_back(lba);
    if (!all_zero(dbuf.v, 512)) {
        hexdump_line(name, dbuf.v, 64);
        breach(name, "LBA %u now holds data%s", lba, has_canary_prefix(dbuf.v, 512) ? " with the canary prefix" : "");
    } else
        defended(name, "%s: %s (TFD %#x), LBA %u still zero", how, rc < 0 ? "refused" : "completed", tfd, lba);
}

static void ahci_write_from_monitor(const char *name)
{
    uint32_t tfd;
    if (ahci_setup(name) != 1)
        return;
    int rc = one(WRITE_EXT, 128, T.ahci_bounce ? T.ahci_bounce : T.code, 511, NULL, &tfd);
    judge_disk(name, 128, rc, tfd, "WRITE DMA EXT from the region");
}

static void ahci_clb_in_monitor(const char *name)
{
    uint32_t tfd;
    if (ahci_setup(name) != 1)
        return;
    port_restart(slice(13));
    wr(IS, 0xffffffffu);
    wr(CI, 1);
    double end = now_s() + 1;
    while ((rd(CI) & 1) && !(rd(IS) & 1u << 30) && now_s() < end)
        ;
    tfd = rd(TFD);
    int done_ok = !(rd(CI) & 1) && !(rd(IS) & 1u << 30) && !(tfd & 1);
    port_restart(mem.p);
    if (done_ok)
        breach(name, "a command list in the region was run (TFD %#x)", tfd);
    else
        defended(name, "a command list in the region was not run (TFD %#x)", tfd);
}

static void ahci_table_in_monitor(const char *name)
{
    uint32_t tfd;
    if (ahci_setup(name) != 1)
        return;
    build(WRITE_EXT, 192, 1, slice(12));
    int rc = issue(NULL, &tfd);
    judge_disk(name, 192, rc, tfd, "command table in the region");
}

static void rewrite_prd_to_slice7(void) { set_prd(0, slice(7), 511); }

static void ahci_toctou(const char *name)
{
    uint32_t tfd;
    if (ahci_setup(name) != 1)
        return;
    memset(dbuf.v, 0x77, 512);
    one(WRITE_EXT, 256, dbuf.p, 511, NULL, &tfd);
    memset(dbuf.v, 0, 512);
    int rc = one(READ_EXT, 256, dbuf.p, 511, rewrite_prd_to_slice7, &tfd);
    if (rc == 0 && dbuf.v[0] == 0x77 && dbuf.v[511] == 0x77)
        defended(name, "the data landed where the PRDT said at PxCI (TFD %#x)", tfd);
    else if (rc < 0)
        defended(name, "refused (TFD %#x)", tfd);
    else
        breach(name, "the PRDT rewritten after PxCI was followed (TFD %#x)", tfd);
}

static void malformed(const char *name, uint32_t lba, uint16_t prdtl, uint64_t addr, uint32_t dbc)
{
    uint32_t tfd;
    if (ahci_setup(name) != 1)
        return;
    build(WRITE_EXT, lba, prdtl, mem.p + 0x800);
    set_prd(0, addr, dbc);
    int rc = issue(NULL, &tfd);
    if (rc < 0)
        defended(name, "refused (TFD %#x)", tfd);
    else
        breach(name, "the monitor passed a malformed PRDT (TFD %#x)", tfd);
}

static void ahci_prd_zero_length(const char *name) { malformed(name, 320, 1, dbuf.p, 0); }
static void ahci_prd_oversized_table(const char *name) { malformed(name, 384, 65535, dbuf.p, 511); }
static void ahci_prd_wrap(const char *name) { malformed(name, 448, 1, 0xfffffffffffffe00ull, 511); }


/* READ LOG EXT (2Fh, issue 18 allowed it: log pages are device data, never decrypted). The
 * LBA fields name the log (7:0) and page (15:8, 39:32); `count` 512-byte pages (0: 65536) into
 * one PRD of `bytes` at `addr`. */
enum { READ_LOG_EXT = 0x2f };

static int read_log(uint8_t log, uint16_t page, uint16_t count, uint64_t addr, uint32_t bytes, uint32_t *tfd)
{
    build(READ_LOG_EXT, 0, 1, mem.p + 0x800);
    uint8_t *f = mem.v + 0x800;
    f[4] = log, f[5] = page & 0xff, f[6] = 0, f[9] = page >> 8;
    f[12] = count & 0xff, f[13] = count >> 8;
    set_prd(0, addr, bytes - 1);
    return issue(NULL, tfd);
}

/* Whether a log page reads as device data: all zeros, or the checksum ATA logs end with (the
 * bytes sum to 0). A page decrypted with the disk's key would be neither (1 in 256). */
static int device_log_page(const uint8_t *p)
{
    uint8_t sum = 0;
    for (int i = 0; i < 512; i++)
        sum = (uint8_t)(sum + p[i]);
    return all_zero(p, 512) || sum == 0;
}

static void ahci_read_log_into_monitor(const char *name)
{
    uint32_t tfd, tfd_ctl;
    if (ahci_setup(name) != 1)
        return;
    int ctl = read_log(0x10, 0, 1, dbuf.p, 512, &tfd_ctl); /* the same read into guest memory */
    int rc = read_log(0x10, 0, 1, slice(24), 512, &tfd);
    if (rc == 0)
        breach(name, "READ LOG EXT with its PRD in the region completed (TFD %#x)", tfd);
    else
        defended(name, "READ LOG EXT with its PRD in the region failed (TFD %#x; into guest memory: %s, TFD %#x; the "
                       "monitor's log decides)", tfd, ctl == 0 ? "completed" : "failed too", tfd_ctl);
}

static void ahci_read_log_huge_count(const char *name)
{
    uint32_t tfd;
    if (ahci_setup(name) != 1)
        return;
    int rc = read_log(0x10, 0, 0, dbuf.p, 512, &tfd); /* 65536 pages, a 512-byte PRDT */
    uint32_t tfd2;
    int after = one(READ_EXT, 64, dbuf.p, 511, NULL, &tfd2);
    if (rc == 0)
        breach(name, "READ LOG EXT of 65536 pages on a 512-byte PRDT completed (TFD %#x)", tfd);
    else if (after < 0)
        breach(name, "after READ LOG EXT of 65536 pages the port no longer reads (TFD %#x)", tfd2);
    else
        defended(name, "READ LOG EXT of 65536 pages on a 512-byte PRDT failed (TFD %#x); the port reads after it",
                 tfd);
}

static void ahci_read_log_encrypted(const char *name)
{
    uint32_t tfd;
    if (ahci_setup(name) != 1)
        return;
    memset(dbuf.v, 0xee, 512);
    /* page 0x20: the LBA field reads 0x2010, inside the disk's encrypted range (8192 on) */
    int rc = read_log(0x10, 0x20, 1, dbuf.p, 512, &tfd);
    if (rc < 0)
        defended(name, "the device failed READ LOG EXT page 0x20 (TFD %#x): no page to decrypt", tfd);
    else if (device_log_page(dbuf.v))
        defended(name, "the log page on the encrypted disk reads as device data (TFD %#x)", tfd);
    else {
        hexdump_line(name, dbuf.v, 32);
        breach(name, "the log page on the encrypted disk is neither zero nor checksummed: decrypted? (TFD %#x)", tfd);
    }
}

const struct attack ahci_attacks[] = {
    {"ahci-dma-read-into-monitor", ahci_read_into_monitor},
    {"ahci-dma-write-from-monitor", ahci_write_from_monitor},
    {"ahci-clb-in-monitor", ahci_clb_in_monitor},
    {"ahci-table-in-monitor", ahci_table_in_monitor},
    {"ahci-toctou", ahci_toctou},
    {"ahci-prd-zero-length", ahci_prd_zero_length},
    {"ahci-prd-oversized-table", ahci_prd_oversized_table},
    {"ahci-prd-wrap", ahci_prd_wrap},
    {"ahci-read-log-into-monitor", ahci_read_log_into_monitor},
    {"ahci-read-log-huge-count", ahci_read_log_huge_count},
    {"ahci-read-log-encrypted", ahci_read_log_encrypted},
    {NULL, NULL},
};
