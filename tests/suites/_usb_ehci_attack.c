/* The hostile guest of tests/suites/usb_ehci.py: after the unmodified driver's run, it unbinds
 * ehci-pci and drives the (mediated) controller by hand through /dev/mem, with a DMA page found
 * through /proc/self/pagemap: it resets the port the stick is on (the stick answers at address 0
 * again) and builds an asynchronous schedule of a head QH and one QH for endpoint 0 with a
 * GET_DESCRIPTOR control transfer whose Data Stage qTD is an IN into the monitor's region, then
 * points that QH's horizontal link into the monitor. The monitor must refuse both (the Setup
 * runs, the Data Stage comes back halted and never runs; unmediated, the stick's 18 bytes
 * would land in the monitor and the qTD complete) and log them. Then a periodic schedule whose
 * frame list entries all lead to a QH in the monitor: refused and logged, the controller never
 * given it. The guest reports what it saw as "TV-EHCI-ATTACK name: ..." lines.
 * Argument: the monitor's base (thinvisor-ctl range). Built static by the suite; not part of
 * the guest image. Structures: EHCI 1.0 3.5 (qTD) and 3.6 (QH). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile uint32_t *op;
static uint32_t *page;
static uint64_t phys;
enum { HEAD = 0, QH = 64 / 4, SETUP = 128 / 4, QTD = 160 / 4, STATUS = 192 / 4, REQ = 256 / 4 }; /* words */

static void barrier(void) { __asm__ volatile("" ::: "memory"); }

static int find_ehci(char *bdf, size_t n, uint64_t *bar)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[64];
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/class", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int match = fgets(buf, sizeof buf, f) && strtoul(buf, 0, 16) == 0x0c0320;
        fclose(f);
        if (!match) continue;
        snprintf(bdf, n, "%s", e->d_name);
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource", e->d_name);
        f = fopen(path, "r");
        unsigned long long start = 0;
        if (f && fscanf(f, "%llx", &start) == 1) *bar = start;
        if (f) fclose(f);
        closedir(d);
        return 0;
    }
    if (d) closedir(d);
    return -1;
}

static int dma_alloc(uint32_t **pg, uint64_t *ph)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    *pg = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
    if (fd < 0 || *pg == MAP_FAILED) return -1;
    memset(*pg, 0, 4096);
    uint64_t ent = 0;
    if (pread(fd, &ent, 8, (off_t)((uintptr_t)*pg / 4096 * 8)) != 8 || !(ent >> 63)) return -1;
    *ph = (ent & ((1ull << 55) - 1)) * 4096;
    close(fd);
    return *ph < (1ull << 32) ? 0 : -1;
}

static int dma_page(void) { return dma_alloc(&page, &phys); }

/* A frame list (one page, 1024 entries) whose every entry is a QH in the monitor. */
static void periodic_into_monitor(uint64_t monitor)
{
    uint32_t *list;
    uint64_t list_phys;
    if (dma_alloc(&list, &list_phys)) {
        printf("TV-EHCI-ATTACK periodic-entry-into-monitor: no DMA page below 4 GiB\n");
        return;
    }
    for (int i = 0; i < 1024; i++) list[i] = (uint32_t)monitor | 2; /* type QH */
    barrier();
    op[0] = 0;
    usleep(20000);
    op[5] = (uint32_t)list_phys; /* PERIODICLISTBASE */
    op[0] = 1 | (1u << 4);       /* Run, periodic schedule */
    usleep(200000);
    printf("TV-EHCI-ATTACK periodic-entry-into-monitor: sent; USBSTS %08x\n", op[1]);
    op[0] = 0;
    usleep(20000);
}

static uint32_t token(void)
{
    barrier();
    return ((volatile uint32_t *)page)[QTD + 2];
}

int main(int argc, char **argv)
{
    uint64_t monitor = argc > 1 ? strtoull(argv[1], 0, 0) : 0, bar = 0;
    char bdf[300], path[400];
    if (!monitor || find_ehci(bdf, sizeof bdf, &bar) || !bar) {
        printf("TV-EHCI-ATTACK setup: no monitor range or no EHCI\n");
        return 1;
    }
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver/unbind", bdf);
    FILE *u = fopen(path, "w");
    if (u) {
        fputs(bdf, u);
        fclose(u);
    }
    /* Unbinding disabled the function: memory and bus mastering on again. */
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", bdf);
    int cfg = open(path, O_RDWR);
    uint16_t pcicmd = 0;
    if (cfg < 0 || pread(cfg, &pcicmd, 2, 4) != 2) {
        printf("TV-EHCI-ATTACK setup: cannot read %s\n", path);
        return 1;
    }
    pcicmd |= 6;
    if (pwrite(cfg, &pcicmd, 2, 4) != 2) printf("TV-EHCI-ATTACK setup: cannot enable bus mastering\n");
    close(cfg);
    int mem = open("/dev/mem", O_RDWR | O_SYNC);
    volatile uint32_t *cap = mem < 0 ? MAP_FAILED : mmap(0, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, mem, (off_t)bar);
    if (cap == MAP_FAILED || dma_page()) {
        printf("TV-EHCI-ATTACK setup: cannot map BAR0 %#llx or find a DMA page below 4 GiB\n", (unsigned long long)bar);
        return 1;
    }
    op = cap + (cap[0] & 0xff) / 4;
    op[0] = 2; /* host controller reset */
    for (int i = 0; i < 100 && (op[0] & 2); i++) usleep(1000);
    op[0x40 / 4] = 1; /* CONFIGFLAG: the ports are EHCI's */
    usleep(20000);
    int port = -1;
    for (int i = 0; i < (int)(cap[1] & 0xf) && port < 0; i++)
        if (op[0x44 / 4 + i] & 1) port = i; /* current connect status */
    if (port < 0) {
        printf("TV-EHCI-ATTACK setup: no device on any port\n");
        return 1;
    }
    volatile uint32_t *portsc = &op[0x44 / 4 + port];
    *portsc = (*portsc & ~0x2au) | (1u << 8); /* port reset */
    usleep(60000);
    *portsc = *portsc & ~(0x2au | (1u << 8));
    usleep(20000);
    uint32_t const qh = (uint32_t)phys + QH * 4, head = (uint32_t)phys;
    page[HEAD + 0] = qh | 2;                 /* -> the QH, type QH */
    page[HEAD + 1] = 1u << 15;               /* H: head of the reclamation list */
    page[HEAD + 4] = page[HEAD + 5] = 1;     /* no qTDs */
    page[HEAD + 6] = 1u << 6;                /* halted */
    page[QH + 0] = head | 2;
    page[QH + 1] = (64u << 16) | (1u << 14) | (2u << 12); /* device 0, endpoint 0, high speed, DTC */
    page[QH + 2] = 1u << 30;
    page[QH + 4] = (uint32_t)phys + SETUP * 4; /* the overlay's next qTD */
    page[QH + 5] = 1;
    page[REQ + 0] = 0x01000680;              /* GET_DESCRIPTOR, device */
    page[REQ + 1] = 18u << 16;               /* wLength 18 */
    page[SETUP + 0] = (uint32_t)phys + QTD * 4;
    page[SETUP + 1] = 1;
    page[SETUP + 2] = (8u << 16) | (3u << 10) | (2u << 8) | (1u << 7); /* SETUP 8 bytes, Active */
    page[SETUP + 3] = (uint32_t)phys + REQ * 4;
    page[QTD + 0] = (uint32_t)phys + STATUS * 4;
    page[QTD + 1] = 1;
    page[QTD + 2] = (1u << 31) | (18u << 16) | (3u << 10) | (1u << 8) | (1u << 7); /* IN 18 bytes, DT 1 */
    page[QTD + 3] = (uint32_t)monitor;       /* the buffer: the monitor's first page */
    page[STATUS + 0] = page[STATUS + 1] = 1;
    page[STATUS + 2] = (1u << 31) | (1u << 15) | (3u << 10) | (0u << 8) | (1u << 7); /* OUT 0, IOC */
    barrier();
    op[6] = head;                            /* ASYNCLISTADDR */
    op[0] = 1 | (1u << 5);                   /* Run, async schedule */
    printf("TV-EHCI-ATTACK start\n");
    usleep(300000);
    (void)op[1]; /* USBSTS: the guest looks */
    uint32_t t = token(), st = ((volatile uint32_t *)page)[SETUP + 2];
    printf("TV-EHCI-ATTACK buffer-into-monitor: sent; setup %s; token %08x (%s)\n",
           (st & 0xc0) ? "not run" : "ran", t, (t & 0x80) ? "still active" : (t & 0x40) ? "halted" : "completed");
    /* The QH's horizontal link into the monitor: the walk must stop there. */
    page[QTD + 2] = 0;
    page[QH + 0] = (uint32_t)monitor | 2;
    barrier();
    usleep(300000);
    (void)op[1];
    printf("TV-EHCI-ATTACK qh-link-into-monitor: sent; USBSTS %08x\n", op[1]);
    periodic_into_monitor(monitor);
    return 0;
}
