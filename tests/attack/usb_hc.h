/* A hostile guest's USB host-controller driving, shared by tvattack (tva_ehci.c, tva_xhci.c)
 * and the USB suites' static attack programs (tests/suites/_usb_ehci_attack.c,
 * _usb_xhci_attack.c, which include this file by its relative path): finding and taking a
 * controller from its Linux driver, DMA pages, and the EHCI and xHCI structures the attacks
 * build. Header-only (static inline) so each program stays one `gcc -static` of one file.
 * Structures: EHCI 1.0 3.5 (qTD), 3.6 (QH); xHCI 1.2 4.11 (TRBs), 6.2 (contexts). */
#ifndef USB_HC_H
#define USB_HC_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static inline void hc_barrier(void) { __asm__ volatile("" ::: "memory"); }

static inline double hc_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline void hc_sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* ---- taking a controller from Linux (the standalone programs; tvattack has tva_lib.c) ---- */

/* The first PCI function of class `cls` (24 bits): its sysfs name and BAR0. */
static inline int hc_find(uint32_t cls, char *bdf, size_t n, uint64_t *bar)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[64];
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/class", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        int match = fgets(buf, sizeof buf, f) && strtoul(buf, 0, 16) == cls;
        fclose(f);
        if (!match)
            continue;
        snprintf(bdf, n, "%s", e->d_name);
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource", e->d_name);
        f = fopen(path, "r");
        unsigned long long start = 0;
        if (f && fscanf(f, "%llx", &start) == 1)
            *bar = start;
        if (f)
            fclose(f);
        closedir(d);
        return 0;
    }
    if (d)
        closedir(d);
    return -1;
}

/* Unbinds the function's driver and turns memory and bus mastering on again (unbinding
 * disabled them); then maps `len` bytes of its BAR0 through /dev/mem. NULL on failure. */
static inline volatile uint32_t *hc_take(const char *bdf, uint64_t bar, size_t len, const char *tag)
{
    char path[400];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver/unbind", bdf);
    FILE *u = fopen(path, "w");
    if (u) {
        fputs(bdf, u);
        fclose(u);
    }
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", bdf);
    int cfg = open(path, O_RDWR);
    uint16_t pcicmd = 0;
    if (cfg < 0 || pread(cfg, &pcicmd, 2, 4) != 2) {
        printf("%s setup: cannot read %s\n", tag, path);
        return NULL;
    }
    pcicmd |= 6;
    if (pwrite(cfg, &pcicmd, 2, 4) != 2)
        printf("%s setup: cannot enable bus mastering\n", tag);
    close(cfg);
    int mem = open("/dev/mem", O_RDWR | O_SYNC);
    void *p = mem < 0 ? MAP_FAILED : mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, mem, (off_t)bar);
    return p == MAP_FAILED ? NULL : (volatile uint32_t *)p;
}

/* `n` locked, zeroed pages below 4 GiB and their physical addresses (/proc/self/pagemap). */
static inline int hc_dma_pages(int n, uint8_t **virt, uint64_t *phys)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        void *v = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
        uint64_t ent = 0;
        if (v == MAP_FAILED || pread(fd, &ent, 8, (off_t)((uintptr_t)v / 4096 * 8)) != 8 || !(ent >> 63))
            return -1;
        memset(v, 0, 4096);
        virt[i] = v;
        phys[i] = (ent & ((1ull << 55) - 1)) * 4096;
        if (phys[i] >= (1ull << 32))
            return -1;
    }
    close(fd);
    return 0;
}

/* ---- EHCI: one control transfer to the device at address 0 on one page ---- */

struct ehci {
    volatile uint32_t *cap, *op;
    int port;
};

/* Word offsets in the schedule page: the head QH, the QH of endpoint 0, its three qTDs and the
 * SETUP request. */
enum { EHCI_HEAD = 0, EHCI_QH = 64 / 4, EHCI_SETUP = 128 / 4, EHCI_DATA = 160 / 4, EHCI_STATUS = 192 / 4,
       EHCI_REQ = 256 / 4 };
#define EHCI_ACTIVE (1u << 7)
#define EHCI_HALTED (1u << 6)

static inline uint32_t ehci_status(struct ehci *e)
{
    hc_barrier();
    return e->op[1];
}

/* Reset, the ports to EHCI, then a reset of the first port with a device (it answers at
 * address 0). 0, or -1 when no port has a device. */
static inline int ehci_take(struct ehci *e, volatile uint32_t *cap)
{
    e->cap = cap;
    e->op = cap + (cap[0] & 0xff) / 4;
    volatile uint32_t *op = e->op;
    op[0] = 2; /* host controller reset */
    for (int i = 0; i < 100 && (op[0] & 2); i++)
        hc_sleep_ms(1);
    op[0x40 / 4] = 1; /* CONFIGFLAG: the ports are EHCI's */
    hc_sleep_ms(20);
    e->port = -1;
    for (int i = 0; i < (int)(cap[1] & 0xf) && e->port < 0; i++)
        if (op[0x44 / 4 + i] & 1)
            e->port = i; /* current connect status */
    if (e->port < 0)
        return -1;
    volatile uint32_t *portsc = &op[0x44 / 4 + e->port];
    *portsc = (*portsc & ~0x2au) | (1u << 8); /* port reset */
    hc_sleep_ms(60);
    *portsc = *portsc & ~(0x2au | (1u << 8));
    hc_sleep_ms(20);
    return 0;
}

/* Run and the async schedule off; waits for HCHalted. */
static inline void ehci_stop(struct ehci *e)
{
    e->op[0] = 0;
    for (int i = 0; i < 100 && !(ehci_status(e) & (1u << 12)); i++)
        hc_sleep_ms(1);
}

/* A head QH and the QH of endpoint 0 (device 0, high speed) with GET_DESCRIPTOR(device):
 * SETUP, an IN Data Stage of `bytes` at `buffer` (one page pointer), an OUT status. */
static inline void ehci_sched_build(uint8_t *page, uint32_t phys, uint32_t buffer, uint32_t bytes)
{
    uint32_t *w = (uint32_t *)page;
    uint32_t const qh = phys + EHCI_QH * 4;
    w[EHCI_HEAD + 0] = qh | 2;           /* -> the QH, type QH */
    w[EHCI_HEAD + 1] = 1u << 15;         /* H: head of the reclamation list */
    w[EHCI_HEAD + 4] = w[EHCI_HEAD + 5] = 1;
    w[EHCI_HEAD + 6] = 1u << 6;          /* halted: no qTDs */
    w[EHCI_QH + 0] = phys | 2;
    w[EHCI_QH + 1] = (64u << 16) | (1u << 14) | (2u << 12); /* device 0, endpoint 0, high speed, DTC */
    w[EHCI_QH + 2] = 1u << 30;
    w[EHCI_QH + 4] = phys + EHCI_SETUP * 4; /* the overlay's next qTD */
    w[EHCI_QH + 5] = 1;
    w[EHCI_REQ + 0] = 0x01000680;        /* GET_DESCRIPTOR, device */
    w[EHCI_REQ + 1] = 18u << 16;         /* wLength 18 */
    w[EHCI_SETUP + 0] = phys + EHCI_DATA * 4;
    w[EHCI_SETUP + 1] = 1;
    w[EHCI_SETUP + 2] = (8u << 16) | (3u << 10) | (2u << 8) | EHCI_ACTIVE; /* SETUP 8 bytes */
    w[EHCI_SETUP + 3] = phys + EHCI_REQ * 4;
    w[EHCI_DATA + 0] = phys + EHCI_STATUS * 4;
    w[EHCI_DATA + 1] = 1;
    w[EHCI_DATA + 2] = (1u << 31) | (bytes << 16) | (3u << 10) | (1u << 8) | EHCI_ACTIVE; /* IN, DT 1 */
    w[EHCI_DATA + 3] = buffer;
    w[EHCI_STATUS + 0] = w[EHCI_STATUS + 1] = 1;
    w[EHCI_STATUS + 2] = (1u << 31) | (1u << 15) | (3u << 10) | (0u << 8) | EHCI_ACTIVE; /* OUT 0, IOC */
    hc_barrier();
}

static inline uint32_t ehci_token(uint8_t *page, int qtd)
{
    hc_barrier();
    return ((volatile uint32_t *)page)[qtd + 2];
}

static inline const char *ehci_token_state(uint32_t t)
{
    return (t & EHCI_ACTIVE) ? "still active" : (t & EHCI_HALTED) ? "halted" : "completed";
}

/* ASYNCLISTADDR, then `between` (may be NULL: the schedule is given, not yet enabled), then Run
 * with the async schedule; then USBSTS reads (where the monitor syncs): with `page` (a schedule
 * of ehci_sched_build's layout) until its Setup and Data Stage qTDs are both no longer active,
 * at most 3 s (a loaded host runs the controller's frames late); without, for 300 ms. */
static inline void ehci_run(struct ehci *e, uint32_t head, void (*between)(void), uint8_t *page)
{
    e->op[6] = head; /* ASYNCLISTADDR */
    hc_barrier();
    if (between)
        between();
    e->op[0] = 1 | (1u << 5); /* Run, async schedule */
    hc_barrier();
    for (int i = 0; i < (page ? 3000 : 300); i++) {
        (void)ehci_status(e);
        if (page && !(ehci_token(page, EHCI_SETUP) & EHCI_ACTIVE) && !(ehci_token(page, EHCI_DATA) & EHCI_ACTIVE))
            break;
        hc_sleep_ms(1);
    }
    if (page) /* one more sync: the status stage's completion written back too */
        (void)ehci_status(e);
}

/* ---- xHCI: a command ring and a 16-TRB event ring, one page each ---- */

struct xhci_rings {
    volatile uint32_t *op, *rt, *db;
    uint8_t *events, *cmds;
    uint64_t events_p;
    unsigned ev_idx, cmd_idx;
};
enum { XHCI_EV_TRANSFER = 32, XHCI_EV_COMMAND = 33 };

/* A 64-bit register as two 32-bit writes, low first. */
static inline void hc_w64(volatile uint32_t *r, uint64_t v)
{
    hc_barrier();
    r[0] = (uint32_t)v;
    r[1] = (uint32_t)(v >> 32);
    hc_barrier();
}

/* TRB i of a ring on its first lap (cycle 1); the control word last. */
static inline void xhci_trb(uint8_t *ring, unsigned i, uint64_t param, uint32_t status, uint32_t control)
{
    uint32_t *t = (uint32_t *)(ring + i * 16);
    t[0] = (uint32_t)param;
    t[1] = (uint32_t)(param >> 32);
    t[2] = status;
    hc_barrier();
    t[3] = control | 1;
    hc_barrier();
}

/* The next event of `type` (-1: any; others are consumed and skipped), or -1 after `secs`.
 * Reading USBSTS is where the monitor hands events over. */
static inline int xhci_next_event(struct xhci_rings *x, int type, double secs, uint32_t *control, uint32_t *status)
{
    double end = hc_now() + secs;
    while (hc_now() < end) {
        (void)x->op[1];
        hc_barrier();
        uint32_t *t = (uint32_t *)(x->events + (x->ev_idx % 16) * 16);
        if ((t[3] & 1) == (x->ev_idx / 16 % 2 == 0)) {
            uint32_t c = t[3], s = t[2];
            x->ev_idx++;
            hc_w64(x->rt + (0x20 + 0x18) / 4, (x->events_p + (x->ev_idx % 16) * 16) | 8);
            if (type >= 0 && (int)((c >> 10) & 0x3f) != type)
                continue;
            *control = c;
            *status = s;
            return 0;
        }
        hc_sleep_ms(1);
    }
    return -1;
}

/* A command and its completion: the completion code, or -1; *slot (may be NULL) the slot it names. */
static inline int xhci_command(struct xhci_rings *x, uint64_t param, uint32_t control, uint32_t *slot)
{
    xhci_trb(x->cmds, x->cmd_idx++, param, 0, control);
    x->db[0] = 0;
    uint32_t c = 0, s = 0;
    if (xhci_next_event(x, XHCI_EV_COMMAND, 2.0, &c, &s) < 0)
        return -1;
    if (slot)
        *slot = c >> 24;
    return (int)(s >> 24);
}

#endif
