/* PCI configuration attacks: a wide access at 0xCFB that reaches CFC unmediated (issue 12,
 * item 1), BARs moved through ECAM (item 2) and through CF8/CFC over the monitor's region and
 * over another mediated device (item 4). A move is judged by what the moved registers show: a
 * device reached without its mediator shows the monitor's shadow rings (addresses in the region). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>

#include "tva.h"

static int in_region(uint64_t a) { return a >= T.region && a < T.region + T.region_size; }

static uint32_t raw_read(const struct pcidev *d, int off)
{
    outl(cf8_addr(d, off), 0xcf8);
    return inl(0xcfc);
}

/* Issue 12, item 1: `out dx, ax` at 0xCFB writes CF8's top byte and config byte 0 at CFC;
 * `out dx, eax` at 0xCFA writes CF8's upper half and config bytes 0-1. Aimed at the IDE
 * bus-master BAR, which the IDE mediator pins. */
static void pci_wide_cfb(const char *name)
{
    struct pcidev ide;
    if (pci_find(0, 0, 0xffff00, 0x010100, &ide) < 0 || !ide.bar[4]) {
        skipped(name, "no IDE bus-master BAR");
        return;
    }
    uint32_t before = raw_read(&ide, 0x20), a = cf8_addr(&ide, 0x20);
    uint8_t low = (uint8_t)before, moved = (uint8_t)((low + 0x40) & 0xf0) | (low & 0x0f);
    outl(a, 0xcf8);
    outw((uint16_t)(moved << 8 | a >> 24), 0xcfb);
    uint32_t after16 = raw_read(&ide, 0x20);
    pci_cfg_write(&ide, 0x20, 4, before);
    outl(a, 0xcf8);
    outl((uint32_t)(before ^ 0x1000u) << 16 | a >> 16, 0xcfa);
    uint32_t after32 = raw_read(&ide, 0x20);
    pci_cfg_write(&ide, 0x20, 4, before);
    if (after16 != before || after32 != before)
        breach(name, "IDE BAR4 %#x moved past its pin: %#x after the 16-bit out at 0xCFB, %#x after the 32-bit "
                     "out at 0xCFA", before, after16, after32);
    else
        defended(name, "IDE BAR4 stayed at %#x through a 16-bit out at 0xCFB and a 32-bit out at 0xCFA", before);
}

static uint64_t ecam_base(void)
{
    FILE *f = fopen("/proc/iomem", "r");
    char line[256];
    uint64_t base = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "MMCONFIG")) {
            base = strtoull(line + strspn(line, " "), NULL, 16);
            break;
        }
    if (f)
        fclose(f);
    return base;
}

/* Moves BAR0 of the e1000 to `to` with `write`, reads RDBAL/TDBAL there, moves it back. */
static void move_and_probe(const char *name, const char *how, uint64_t to,
                           void (*write)(const struct pcidev *, uint32_t), const struct pcidev *e)
{
    uint32_t before = pci_cfg_read(e, 0x10, 4);
    write(e, (uint32_t)to);
    uint32_t now = pci_cfg_read(e, 0x10, 4);
    uint32_t seen[2] = {0, 0};
    volatile uint32_t *p = devmem_map(to, 0x4000);
    if (p) {
        seen[0] = p[0x2800 / 4];
        seen[1] = p[0x3800 / 4];
        devmem_unmap((void *)p, 0x4000);
    }
    write(e, before);
    pci_cfg_write(e, 0x10, 4, before);
    if (in_region(seen[0]) || in_region(seen[1]))
        breach(name, "%s: BAR0 %#x -> %#x; at the new place RDBAL %#x TDBAL %#x are the monitor's shadow rings", how,
               before, now, seen[0], seen[1]);
    else
        defended(name, "%s: BAR0 %#x -> %#x; RDBAL/TDBAL at %#llx read %#x/%#x", how, before, now,
                 (unsigned long long)to, seen[0], seen[1]);
}

static uint64_t g_ecam;
static void ecam_write_bar0(const struct pcidev *e, uint32_t v)
{
    volatile uint32_t *cfg = devmem_map(g_ecam + ((uint64_t)e->bus << 20 | e->dev << 15 | e->fn << 12), 4096);
    if (cfg) {
        cfg[0x10 / 4] = v;
        devmem_unmap((void *)cfg, 4096);
    }
}
static void sysfs_write_bar0(const struct pcidev *e, uint32_t v) { pci_cfg_write(e, 0x10, 4, v); }

static void pci_ecam_bar_move(const char *name)
{
    struct pcidev e;
    g_ecam = ecam_base();
    if (!g_ecam) {
        skipped(name, "no MMCONFIG window (a pc machine)");
        return;
    }
    if (pci_find(0x8086, 0x100e, 0, 0, &e) < 0) {
        skipped(name, "no e1000");
        return;
    }
    pci_unbind(&e);
    move_and_probe(name, "ECAM write", 0xa0000000u, ecam_write_bar0, &e);
}

static void pci_bar_move_cf8(const char *name)
{
    struct pcidev e;
    if (pci_find(0x8086, 0x100e, 0, 0, &e) < 0) {
        skipped(name, "no e1000");
        return;
    }
    pci_unbind(&e);
    move_and_probe(name, "CF8/CFC write", 0xa0000000u, sysfs_write_bar0, &e);
}

/* BAR0 onto the monitor's code canary: a hook that follows it would pass accesses through to the
 * monitor's own RAM. Afterwards the canaries must still read zero. */
static void pci_bar_over_monitor(const char *name)
{
    struct pcidev e;
    if (pci_find(0x8086, 0x100e, 0, 0, &e) < 0) {
        skipped(name, "no e1000");
        return;
    }
    pci_unbind(&e);
    uint32_t before = pci_cfg_read(&e, 0x10, 4);
    uint64_t to = T.code & ~0x1ffffull;
    pci_cfg_write(&e, 0x10, 4, (uint32_t)to);
    uint32_t now = pci_cfg_read(&e, 0x10, 4);
    uint8_t seen[256];
    volatile uint8_t *p = devmem_map(T.code, 256);
    for (int i = 0; p && i < 256; i++)
        seen[i] = p[i];
    if (p)
        devmem_unmap((void *)p, 256);
    pci_cfg_write(&e, 0x10, 4, before);
    uint8_t after[256];
    p = devmem_map(T.code, 256);
    for (int i = 0; p && i < 256; i++)
        after[i] = p[i];
    if (p)
        devmem_unmap((void *)p, 256);
    if (!p || !all_zero(seen, sizeof seen) || !all_zero(after, sizeof after)) {
        hexdump_line(name, seen, 64);
        breach(name, "BAR0 %#x -> %#x over the monitor: the code canary read non-zero%s", before, now,
               has_canary_prefix(seen, sizeof seen) ? " (canary prefix)" : "");
    } else if (in_region(now & ~0xfu))
        breach(name, "BAR0 %#x -> %#x: the device decodes over the monitor's region (the move did not fail closed)",
               before, now);
    else
        defended(name, "BAR0 %#x -> %#x over the monitor: the region still reads zeros", before, now);
}

/* e1000 BAR0 over the AHCI ABAR: two hooked BARs overlap. */
static void pci_bar_over_device(const char *name)
{
    struct pcidev e, a;
    if (pci_find(0x8086, 0x100e, 0, 0, &e) < 0 || pci_find(0, 0, 0xffffff, 0x010601, &a) < 0 || !a.bar[5]) {
        skipped(name, "needs an e1000 and an AHCI controller");
        return;
    }
    pci_unbind(&e);
    uint32_t before = pci_cfg_read(&e, 0x10, 4);
    pci_cfg_write(&e, 0x10, 4, (uint32_t)(a.bar[5] & ~0x1ffffull));
    uint32_t now = pci_cfg_read(&e, 0x10, 4);
    uint32_t clb[2] = {0, 0}, ring[2] = {0, 0};
    volatile uint32_t *abar = devmem_map(a.bar[5], 4096);
    if (abar) {
        clb[0] = abar[0x100 / 4];
        clb[1] = abar[0x180 / 4];
        devmem_unmap((void *)abar, 4096);
    }
    volatile uint32_t *moved = devmem_map(now & ~0xfu, 0x4000);
    if (moved && (now & ~0xfu) != (before & ~0xfu)) {
        ring[0] = moved[0x2800 / 4];
        ring[1] = moved[0x3800 / 4];
    }
    if (moved)
        devmem_unmap((void *)moved, 0x4000);
    pci_cfg_write(&e, 0x10, 4, before);
    /* PxCLB shows the monitor's shadow list whenever AHCI status reads go straight to the HBA
     * (docs/security.md, "Status reads without exits"): evidence of an overlap only if the
     * move went through. The e1000's ring registers, read through the moved BAR, always are. */
    int const moved_bar = (now & ~0xfu) != (before & ~0xfu);
    if (in_region(ring[0]) || in_region(ring[1]) || (moved_bar && (in_region(clb[0]) || in_region(clb[1]))))
        breach(name, "e1000 BAR0 %#x -> %#x over the ABAR: PxCLB %#x/%#x, e1000 RDBAL/TDBAL %#x/%#x show the "
                     "monitor's shadow rings", before, now, clb[0], clb[1], ring[0], ring[1]);
    else if (moved_bar)
        breach(name, "e1000 BAR0 %#x -> %#x: the device overlaps the ABAR (the move did not fail closed)", before,
               now);
    else
        defended(name, "e1000 BAR0 %#x stayed, PxCLB reads %#x/%#x", before, clb[0], clb[1]);
}

const struct attack pci_attacks[] = {
    {"pci-wide-cfb", pci_wide_cfb},
    {"pci-ecam-bar-move", pci_ecam_bar_move},
    {"pci-bar-move-cf8", pci_bar_move_cf8},
    {"pci-bar-over-monitor", pci_bar_over_monitor},
    {"pci-bar-over-device", pci_bar_over_device},
    {NULL, NULL},
};
