/* The hostile guest of tests/suites/usb_xhci.py: after the unmodified driver's run, it unbinds
 * xhci_hcd and drives the (mediated) controller by hand through /dev/mem, with DMA pages found
 * through /proc/self/pagemap: Enable Slot, Address Device (BSR) for endpoint 0, then a control
 * transfer whose Data Stage buffer points into the monitor's region, then a link TRB that
 * points at itself on the command ring. The monitor must refuse both and log them; the guest
 * reports what it saw as "TV-XHCI-ATTACK name: ..." lines. Argument: the monitor's base
 * (thinvisor-ctl range). Built static by the suite; not part of the guest image. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile uint32_t *cap, *op, *rt, *db;
static uint8_t *page[6];
static uint64_t phys[6];
enum { DCBAA, CMDS, EVENTS, EP0, INPUT, OUTPUT };
static unsigned ev_idx, cmd_idx;

static void barrier(void) { __asm__ volatile("" ::: "memory"); }
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
static void w64(volatile uint32_t *r, uint64_t v)
{
    barrier();
    r[0] = (uint32_t)v;
    r[1] = (uint32_t)(v >> 32);
    barrier();
}

static int find_xhci(char *bdf, size_t n, uint64_t *bar)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[64];
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/class", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int match = fgets(buf, sizeof buf, f) && strtoul(buf, 0, 16) == 0x0c0330;
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

static int dma_pages(void)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    for (int i = 0; i < 6; i++) {
        page[i] = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
        if (page[i] == MAP_FAILED) return -1;
        memset(page[i], 0, 4096);
        uint64_t ent = 0;
        if (pread(fd, &ent, 8, (off_t)((uintptr_t)page[i] / 4096 * 8)) != 8 || !(ent >> 63)) return -1;
        phys[i] = (ent & ((1ull << 55) - 1)) * 4096;
    }
    close(fd);
    return 0;
}

static void trb(uint8_t *ring, unsigned i, uint64_t param, uint32_t status, uint32_t control)
{
    uint32_t *t = (uint32_t *)(ring + i * 16);
    t[0] = (uint32_t)param;
    t[1] = (uint32_t)(param >> 32);
    t[2] = status;
    barrier();
    t[3] = control | 1; /* cycle 1: the first lap */
    barrier();
}

/* The next event, or -1 after `secs`; reading USBSTS is where the monitor delivers events. */
static int next_event(double secs, uint32_t *control, uint32_t *status)
{
    double end = now() + secs;
    while (now() < end) {
        (void)op[1];
        barrier();
        uint32_t *t = (uint32_t *)(page[EVENTS] + (ev_idx % 16) * 16);
        if ((t[3] & 1) == (ev_idx / 16 % 2 == 0)) {
            *control = t[3];
            *status = t[2];
            ev_idx++;
            w64(rt + (0x20 + 0x18) / 4, (phys[EVENTS] + (ev_idx % 16) * 16) | 8);
            return 0;
        }
        usleep(1000);
    }
    return -1;
}

static int command(uint64_t param, uint32_t control, uint32_t *slot)
{
    trb(page[CMDS], cmd_idx++, param, 0, control);
    db[0] = 0;
    uint32_t c, s;
    while (next_event(2.0, &c, &s) == 0) {
        if (((c >> 10) & 0x3f) != 33) continue; /* not a command completion */
        *slot = c >> 24;
        return (int)(s >> 24);
    }
    return -1;
}

int main(int argc, char **argv)
{
    uint64_t monitor = argc > 1 ? strtoull(argv[1], 0, 0) : 0, bar = 0;
    char bdf[300], path[400];
    if (!monitor || find_xhci(bdf, sizeof bdf, &bar) || !bar) {
        printf("TV-XHCI-ATTACK setup: no monitor range or no xHCI\n");
        return 1;
    }
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver/unbind", bdf);
    FILE *u = fopen(path, "w");
    if (u) {
        fputs(bdf, u);
        fclose(u);
    }
    /* Unbinding disabled the function (bus mastering off): turn memory and bus mastering on. */
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", bdf);
    int cfg = open(path, O_RDWR);
    uint16_t pcicmd = 0;
    if (cfg < 0 || pread(cfg, &pcicmd, 2, 4) != 2) {
        printf("TV-XHCI-ATTACK setup: cannot read %s\n", path);
        return 1;
    }
    pcicmd |= 6;
    if (pwrite(cfg, &pcicmd, 2, 4) != 2) printf("TV-XHCI-ATTACK setup: cannot enable bus mastering\n");
    close(cfg);
    int mem = open("/dev/mem", O_RDWR | O_SYNC);
    cap = mem < 0 ? MAP_FAILED : mmap(0, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, mem, (off_t)bar);
    if (cap == MAP_FAILED || dma_pages()) {
        printf("TV-XHCI-ATTACK setup: cannot map BAR0 %#llx or find DMA pages\n", (unsigned long long)bar);
        return 1;
    }
    op = cap + (cap[0] & 0xff) / 4;
    rt = cap + (cap[6] & ~0x1fu) / 4;
    db = cap + (cap[5] & ~3u) / 4;
    unsigned stride = (cap[4] & 4) ? 64 : 32;
    op[0] &= ~1u;
    usleep(20000);
    op[0] = 2; /* HCRST */
    for (double end = now() + 2; (op[0] & 2 || op[1] & (1u << 11)) && now() < end;) usleep(1000);
    op[0x38 / 4] = 1;
    uint64_t *dcbaa = (uint64_t *)page[DCBAA];
    dcbaa[1] = phys[OUTPUT];
    uint32_t *erst = (uint32_t *)(page[DCBAA] + 0x800);
    erst[0] = (uint32_t)phys[EVENTS];
    erst[1] = (uint32_t)(phys[EVENTS] >> 32);
    erst[2] = 16;
    w64(op + 0x30 / 4, phys[DCBAA]);
    w64(op + 0x18 / 4, phys[CMDS] | 1);
    rt[(0x20 + 0x08) / 4] = 1;
    w64(rt + (0x20 + 0x10) / 4, phys[DCBAA] + 0x800);
    w64(rt + (0x20 + 0x18) / 4, phys[EVENTS]);
    op[0] = 1;
    usleep(10000);

    uint32_t slot = 0;
    int code = command(0, 9u << 10, &slot); /* Enable Slot */
    printf("TV-XHCI-ATTACK enable-slot: code %d slot %u\n", code, slot);
    uint32_t *in = (uint32_t *)page[INPUT];
    in[1] = 3; /* add the slot and endpoint 0 */
    uint32_t *sc = (uint32_t *)(page[INPUT] + stride), *ep0 = (uint32_t *)(page[INPUT] + 2 * stride);
    sc[0] = 1u << 27;
    sc[1] = 1u << 16; /* root hub port 1 */
    ep0[1] = 3u << 1 | 4u << 3 | 64u << 16;
    ep0[2] = (uint32_t)phys[EP0] | 1;
    ep0[3] = (uint32_t)(phys[EP0] >> 32);
    ep0[4] = 8;
    uint32_t s2 = 0;
    code = command(phys[INPUT], 11u << 10 | 1u << 9 | slot << 24, &s2); /* Address Device, BSR */
    printf("TV-XHCI-ATTACK address-device: code %d\n", code);

    /* GET_DESCRIPTOR(device, 64 bytes) into the monitor. */
    trb(page[EP0], 0, 0x0040000001000680ull, 8, 2u << 10 | 1u << 6 | 3u << 16);
    trb(page[EP0], 1, monitor + 0x100, 64, 3u << 10 | 1u << 16);
    trb(page[EP0], 2, 0, 0, 4u << 10 | 1u << 5);
    db[slot] = 1;
    uint32_t c = 0, s = 0;
    int got = next_event(2.0, &c, &s);
    printf("TV-XHCI-ATTACK buffer-into-monitor: sent; %s %u\n", got ? "no event" : "event code", got ? 0 : s >> 24);

    trb(page[CMDS], cmd_idx, phys[CMDS] + cmd_idx * 16, 0, 6u << 10); /* a link to itself */
    db[0] = 0;
    got = next_event(1.0, &c, &s);
    printf("TV-XHCI-ATTACK link-loop: sent; %s\n", got ? "no event" : "an event");
    return 0;
}
